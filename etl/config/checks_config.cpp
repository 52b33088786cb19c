// [checks]: fail_on and the thresholds of the data checks run after every run.
#include "config/config_sections.hpp"

namespace qetl::config_detail {

ChecksConfig read_checks(const Scope& scope, const toml::node& node) {
  const toml::table& table = expect_table(scope, node, "checks");
  reject_unknown_keys(scope, table, "checks", {"fail_on", "max_change", "min_count", "tolerance"});
  ChecksConfig checks;
  checks.where = scope.at(node, "checks");
  if (const toml::node* n = table.get("fail_on")) {
    const std::string fail_on = expect_string(scope, *n, "checks.fail_on");
    if (fail_on == "never") {
      checks.fail_on = ChecksFailOn::never;
    } else if (fail_on == "error") {
      checks.fail_on = ChecksFailOn::error;
    } else if (fail_on == "warning") {
      checks.fail_on = ChecksFailOn::warning;
    } else {
      fail(scope.at(*n, "checks.fail_on"), "must be \"never\", \"error\" or \"warning\", got " + in_quotes(fail_on));
    }
  }
  // A change of 0.1 % is noise and one of 10,000 % is no threshold at all.
  if (const toml::node* n = table.get("max_change")) checks.max_change = expect_number_in(scope, *n, "checks.max_change", 0.001, 100);
  if (const toml::node* n = table.get("min_count")) checks.min_count = expect_integer_in(scope, *n, "checks.min_count", 0, 1000000000);
  if (const toml::node* n = table.get("tolerance")) checks.tolerance = expect_number_in(scope, *n, "checks.tolerance", 0, 1);
  return checks;
}

}  // namespace qetl::config_detail
