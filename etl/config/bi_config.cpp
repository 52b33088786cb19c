// [bi]: the optional Metabase notification after a run (metabase_url, metabase_database_id,
// metabase_api_key). All three keys are required once the section is there.
#include "config/config_sections.hpp"

namespace qetl::config_detail {

BiConfig read_bi(const Scope& scope, const toml::node& node) {
  const toml::table& table = expect_table(scope, node, "bi");
  reject_unknown_keys(scope, table, "bi", {"metabase_url", "metabase_database_id", "metabase_api_key"});
  BiConfig bi;
  bi.where = scope.at(node, "bi");

  const toml::node* url = table.get("metabase_url");
  if (url == nullptr) fail(bi.where, "metabase_url is required in [bi] (e.g. \"https://metabase.internal\")");
  // Plain http:// stays allowed: Metabase often runs without TLS on an internal network.
  bi.metabase_url = read_base_url(scope, *url, "bi.metabase_url", PlainHttp::allowed, "Metabase API key");

  const toml::node* id = table.get("metabase_database_id");
  if (id == nullptr) fail(bi.where, "metabase_database_id is required in [bi] (Admin > Databases shows it in the URL)");
  bi.metabase_database_id = expect_integer_in(scope, *id, "bi.metabase_database_id", 1, INT64_MAX);

  const toml::node* key = table.get("metabase_api_key");
  if (key == nullptr) {
    fail(bi.where, "metabase_api_key is required in [bi]: { env = \"MB_API_KEY\" }, { file = ... } or { credential = ... }");
  }
  bi.metabase_api_key = read_secret_source(scope, *key, "bi.metabase_api_key");
  bi.metabase_api_key.what = "Metabase API key";
  bi.metabase_api_key.strict_charset = false;
  return bi;
}

}  // namespace qetl::config_detail
