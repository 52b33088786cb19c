// Whole nights: a synthetic population counted into every cell of a matrix with groups,
// includes, search and three kinds of windows. Consistent answers give no finding; a broken
// cell is found whatever order the rows arrive in, and the subset check agrees with a
// comparison of every pair of cells.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "checks_test_support.hpp"

namespace qetl {
namespace {
using ::testing::IsEmpty;

const std::string kNightConfig =
    "[[project]]\nname = \"app\"\napi_key = { env = \"K\" }\nenvironments = [0, 1]\n"
    "[[window]]\nname = \"all_time\"\nfrom = \"2026-01-01\"\n"
    "[[window]]\nname = \"last_7_days\"\nlast = \"7d\"\n"
    "[[window]]\nname = \"daily\"\neach = \"day\"\ncount = 4\n"
    "[matrix]\n"
    "status = [\"*\", 1, 2]\n"
    "target_platform = [\"*\", \"iOS\", \"Android\", { name = \"mobile\", values = [\"iOS\", \"Android\"] }]\n"
    "country = [\"*\", \"US\", \"DE\", \"FR\", { name = \"EU\", values = [\"DE\", \"FR\", \"IT\"] },\n"
    "           { name = \"DE_FR\", values = [\"DE\", \"FR\"] }]\n"
    "search = [\"*\", \"gold\"]\n"
    "[[matrix.include]]\ncountry = \"JP\"\ntarget_platform = \"iOS\"\n";

struct Customer {
  std::array<std::string, kDimensionCount> attributes;  // by dimension index
  UnixSeconds first_seen = 0;
  bool subscriber = false, trial = false, retry = false;
};

std::vector<Customer> population(std::size_t n) {
  std::mt19937 random(20261120);
  const std::vector<std::string> platforms = {"iOS", "Android", "Stripe"};
  const std::vector<std::string> countries = {"US", "DE", "FR", "IT", "GB", "JP"};
  std::vector<Customer> out(n);
  for (Customer& c : out) {
    c.attributes[*dimension_index("status")] = std::to_string(1 + random() % 4);
    c.attributes[*dimension_index("target_platform")] = platforms[random() % platforms.size()];
    c.attributes[*dimension_index("country")] = countries[random() % countries.size()];
    c.attributes[*dimension_index("search")] = random() % 3 == 0 ? "gold" : "plain";
    c.first_seen = test::kSnapshot - static_cast<UnixSeconds>(random() % (60 * 86400));
    c.subscriber = random() % 3 == 0;
    c.trial = random() % 5 == 0;
    c.retry = random() % 20 == 0;
  }
  return out;
}

// What a consistent API answers for every cell at `snapshot`: the customers first seen in the
// window by then who match every filter.
std::vector<MetricsRow> night(const Config& config, const std::vector<Customer>& customers, UnixSeconds snapshot) {
  std::vector<MetricsRow> rows;
  for (const Cell& cell : expand_cells(config, snapshot)) {
    std::vector<std::pair<std::size_t, const std::vector<std::string>*>> filters;
    for (const CellFilter& f : cell.filters) filters.emplace_back(*dimension_index(f.dimension), &f.values);
    test::Counts counts{};
    for (const Customer& c : customers) {
      if (c.first_seen < cell.window_from || c.first_seen >= cell.window_to || c.first_seen >= snapshot) continue;
      bool match = true;
      for (const auto& [dimension, values] : filters) {
        match = match && std::find(values->begin(), values->end(), c.attributes[dimension]) != values->end();
      }
      if (!match) continue;
      counts[0] += 1;
      counts[1] += c.subscriber;
      counts[2] += c.trial;
      counts[3] += c.retry;
    }
    test::Where where;
    where.snapshot_at = snapshot;
    where.environment = cell.environment;
    where.window_name = cell.window_name;
    where.window_kind = to_string(cell.window_kind);
    where.window_from = cell.window_from;
    where.window_to = cell.window_to;
    MetricsRow r = test::row("all", counts, where);
    r.segment = cell.segment;
    for (const CellFilter& f : cell.filters) r.dimensions.at(*dimension_index(f.dimension)) = f.label;
    rows.push_back(std::move(r));
  }
  return rows;
}

// Both nights are counted once for every test (a few hundred milliseconds); each test gets its
// own copy of tonight to break.
class SyntheticNight : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    config_ = new Config(parse_config(kNightConfig, "night.toml"));
    const std::vector<Customer> customers = population(kCustomers);
    tonight_ = new std::vector<MetricsRow>(night(*config_, customers, test::kSnapshot));
    last_night_ = new std::vector<MetricsRow>(night(*config_, customers, test::kSnapshot - test::kDay));
  }
  static void TearDownTestSuite() {
    delete config_;
    delete tonight_;
    delete last_night_;
  }

  static constexpr std::size_t kCustomers = 3000;
  static inline Config* config_ = nullptr;
  static inline std::vector<MetricsRow>* tonight_ = nullptr;
  static inline std::vector<MetricsRow>* last_night_ = nullptr;

  const Config& config = *config_;
  std::vector<MetricsRow> tonight = *tonight_;
  const std::vector<MetricsRow>& last_night = *last_night_;

  MetricsRow& cell(const std::string& window_name, int environment, const std::string& segment) {
    for (MetricsRow& r : tonight) {
      if (r.window_name == window_name && r.environment == environment && r.segment == segment) return r;
    }
    throw std::runtime_error("no cell " + segment);
  }
};

TEST_F(SyntheticNight, ConsistentAnswersGiveNoFinding) {
  // Every customer was first seen in the last 60 days: all of them in the fixed window.
  ASSERT_GT(tonight.size(), 1000u);
  ASSERT_EQ(cell("all_time", 1, "all").metrics.clients_with_event, static_cast<std::int64_t>(kCustomers));
  EXPECT_THAT(test::check(tonight, last_night, {}, config), IsEmpty());
}

TEST_F(SyntheticNight, AnInflatedCellIsFoundWhateverTheRowOrder) {
  MetricsRow& inflated = cell("all_time", 1, "country=DE;search=gold;target_platform=iOS");
  inflated.metrics.active_subscribers = cell("all_time", 1, "country=DE_FR;target_platform=iOS").metrics.active_subscribers + 5;
  const std::int64_t widest_exceeded = cell("all_time", 1, "country=DE;search=gold").metrics.active_subscribers;
  ASSERT_GT(inflated.metrics.active_subscribers, widest_exceeded);

  const auto findings = test::check(tonight, last_night, {}, config);
  std::vector<DataCheckFinding> subset;
  std::copy_if(findings.begin(), findings.end(), std::back_inserter(subset),
               [](const DataCheckFinding& f) { return f.check_name == "subset_exceeds_superset"; });
  ASSERT_EQ(subset.size(), 1u);
  EXPECT_EQ(subset[0].segment, inflated.segment);
  EXPECT_EQ(subset[0].environment, 1);
  EXPECT_EQ(subset[0].window_name, "all_time");
  EXPECT_EQ(subset[0].metric, "active_subscribers");
  EXPECT_EQ(subset[0].observed, static_cast<double>(inflated.metrics.active_subscribers));

  std::mt19937 random(7);
  for (int round = 0; round < 3; ++round) {
    std::vector<MetricsRow> shuffled_tonight = tonight;
    std::vector<MetricsRow> shuffled_last = last_night;
    std::shuffle(shuffled_tonight.begin(), shuffled_tonight.end(), random);
    std::shuffle(shuffled_last.begin(), shuffled_last.end(), random);
    DataChecks checks(config, {});
    // Interleaved, as a runner might feed both queries' rows.
    for (std::size_t i = 0; i < std::max(shuffled_tonight.size(), shuffled_last.size()); ++i) {
      if (i < shuffled_last.size()) checks.add_previous(shuffled_last[i]);
      if (i < shuffled_tonight.size()) checks.add_current(shuffled_tonight[i]);
    }
    EXPECT_EQ(test::summary(checks.run("r-check")), test::summary(findings));
  }
}

TEST_F(SyntheticNight, AnEmptyNightIsOneErrorPerCellThatHadCustomers) {
  for (MetricsRow& r : tonight) {
    if (r.window_name == "all_time") r.metrics = Metrics{};  // all nine metrics 0
  }
  const auto had_customers = std::count_if(last_night.begin(), last_night.end(), [](const MetricsRow& r) {
    return r.window_name == "all_time" && r.metrics.clients_with_event > 0;
  });
  ASSERT_GT(had_customers, 100);
  const auto findings = test::check(tonight, last_night, {}, config);
  EXPECT_EQ(static_cast<std::ptrdiff_t>(findings.size()), had_customers);
  for (const DataCheckFinding& f : findings) {
    EXPECT_EQ(f.check_name, "empty_after_nonempty");
    EXPECT_EQ(f.window_name, "all_time");
  }
}

// Every cell against every other of its bucket, with value sets written out: what the subset
// check must find, however it finds it.
std::set<std::string> pairwise_reference(const Config& config, const std::vector<MetricsRow>& rows, double tolerance) {
  const auto values_of = [&](const std::string& dimension, const std::string& label) {
    for (const MatrixDimension& md : config.matrix) {
      if (md.dimension != dimension) continue;
      for (const auto& e : md.entries) {
        if (e && e->label == label) return std::set<std::string>(e->values.begin(), e->values.end());
      }
    }
    return std::set<std::string>{label};
  };
  std::map<std::string, std::int64_t> smallest;  // "segment|metric" -> smallest superset value exceeded
  std::map<std::string, std::int64_t> observed;
  for (const MetricsRow& a : rows) {
    for (const MetricsRow& b : rows) {
      if (&a == &b || a.window_name != b.window_name || a.window_from != b.window_from ||
          a.environment != b.environment) {
        continue;
      }
      bool subset = true;
      for (std::size_t d = 0; d < kDimensionCount && subset; ++d) {
        if (!b.dimensions[d]) continue;
        if (!a.dimensions[d]) {
          subset = false;
        } else if (kDimensions[d] == "search") {
          subset = *a.dimensions[d] == *b.dimensions[d];
        } else {
          const auto inner = values_of(std::string(kDimensions[d]), *a.dimensions[d]);
          const auto outer = values_of(std::string(kDimensions[d]), *b.dimensions[d]);
          subset = std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
        }
      }
      if (!subset) continue;
      const test::Counts ca{a.metrics.clients_with_event, a.metrics.active_subscribers, a.metrics.active_trials,
                            a.metrics.billing_retry};
      const test::Counts cb{b.metrics.clients_with_event, b.metrics.active_subscribers, b.metrics.active_trials,
                            b.metrics.billing_retry};
      const char* names[] = {"clients_with_event", "active_subscribers", "active_trials", "billing_retry"};
      for (int m = 0; m < 4; ++m) {
        const double v = static_cast<double>(cb[m]);
        if (static_cast<double>(ca[m]) <= v + std::max(1.0, tolerance * v)) continue;
        const std::string key = a.window_name + "|" + std::to_string(a.window_from) + "|" +
                                std::to_string(a.environment) + "|" + a.segment + "|" + names[m];
        const auto it = smallest.find(key);
        if (it == smallest.end() || cb[m] < it->second) smallest[key] = cb[m];
        observed[key] = ca[m];
      }
    }
  }
  std::set<std::string> out;
  for (const auto& [key, value] : smallest) out.insert(key + " " + std::to_string(observed[key]) + " " + std::to_string(value));
  return out;
}

TEST_F(SyntheticNight, TheSubsetCheckAgreesWithComparingEveryPair) {
  // Noise on every count of every cell: many contradictions, near and far.
  std::mt19937 random(99);
  for (MetricsRow& r : tonight) {
    r.metrics.clients_with_event += static_cast<std::int64_t>(random() % 40);
    r.metrics.active_subscribers += static_cast<std::int64_t>(random() % 20);
    r.metrics.active_trials += static_cast<std::int64_t>(random() % 8);
    r.metrics.billing_retry += static_cast<std::int64_t>(random() % 3);
  }
  const double tolerance = 0.05;
  CheckSettings settings;
  settings.tolerance = tolerance;
  std::set<std::string> found;
  for (const DataCheckFinding& f : test::check(tonight, {}, settings, config)) {
    ASSERT_EQ(f.check_name, "subset_exceeds_superset");
    found.insert(f.window_name + "|" + std::to_string(f.window_from) + "|" + std::to_string(f.environment) + "|" +
                 f.segment + "|" + f.metric + " " + std::to_string(static_cast<std::int64_t>(*f.observed)) + " " +
                 std::to_string(static_cast<std::int64_t>(*f.expected)));
  }
  const std::set<std::string> expected = pairwise_reference(config, tonight, tolerance);
  EXPECT_GT(expected.size(), 50u);
  EXPECT_EQ(found, expected);
}

}  // namespace
}  // namespace qetl
