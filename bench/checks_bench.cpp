// The data checks' cost (bench/run drives it; see bench/README.md).
//
//   qetl_checks_bench --cells N
//       N rows of one snapshot over a matrix of 1,000 segments with groups (platform x country
//       x product x status) in N / 1,000 window buckets (a fixed window, a rolling one, daily
//       cohorts), and for each its series' row of the night before, streamed through
//       DataChecks one row at a time as the warehouse's visitors hand them over, then run().
//       The figures are consistent (a filtered cell never exceeds a wider one, the fixed window
//       grows) except one cell in 997, inflated, so the findings' path is measured too.
//
// Prints one JSON object on stdout: rows, findings by check, the checks' own time (add + run,
// the generator's time apart) and the process's peak RSS (VmHWM; getrusage's ru_maxrss too).
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "checks/data_checks.hpp"
#include "matrix/matrix.hpp"
#include "model/dimensions.hpp"

namespace {

using qetl::MetricsRow;
using qetl::UnixSeconds;
using Clock = std::chrono::steady_clock;

constexpr UnixSeconds kSnapshot = 1795132800;  // 2026-11-20 00:00:00 UTC
constexpr UnixSeconds kDay = 86400;
constexpr std::size_t kSegments = 1000;

// 4 x 10 x 5 x 5 = 1,000 segments; EU and DE_FR are groups (DE_FR inside EU), as is premium.
std::string config_text(std::size_t buckets) {
  std::string text =
      "[[project]]\nname = \"bench-app\"\napi_key = { env = \"BENCH_KEY\" }\n"
      "[[window]]\nname = \"all_time\"\nfrom = \"2024-01-01\"\n"
      "[[window]]\nname = \"last_7_days\"\nlast = \"7d\"\n";
  if (buckets > 2) text += "[[window]]\nname = \"daily_cohorts\"\neach = \"day\"\ncount = " + std::to_string(buckets - 2) + "\n";
  text +=
      "[matrix]\n"
      "status = [\"*\", 1, 2, 3, 4]\n"
      "target_platform = [\"*\", \"iOS\", \"Android\", \"Stripe\"]\n"
      "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\", \"IT\", \"ES\", \"JP\",\n"
      "           { name = \"EU\", values = [\"DE\", \"FR\", \"IT\", \"ES\"] }, { name = \"DE_FR\", values = [\"DE\", \"FR\"] }]\n"
      "product_id = [\"*\", \"premium_monthly\", \"premium_annual\", \"lifetime\",\n"
      "              { name = \"premium\", values = [\"premium_monthly\", \"premium_annual\"] }]\n";
  return text;
}

// Each value's share of the customers; a group's share is the sum of its values'.
const std::map<std::string, double> kShares = {
    {"1", 0.5},        {"2", 0.2},     {"3", 0.2},       {"4", 0.1},  {"iOS", 0.5},
    {"Android", 0.35}, {"Stripe", 0.15}, {"US", 0.3},    {"GB", 0.1}, {"DE", 0.12},
    {"FR", 0.1},       {"IT", 0.06},   {"ES", 0.05},     {"JP", 0.07}, {"premium_monthly", 0.4},
    {"premium_annual", 0.3}, {"lifetime", 0.1}};

double share(const qetl::DimensionValue& entry) {
  double sum = 0;
  for (const std::string& v : entry.values) sum += kShares.at(v);
  return sum;
}

struct Segment {
  std::string text;
  std::array<std::optional<std::string>, qetl::kDimensionCount> dimensions;
  double share = 1;  // product of its labels' shares, in dimension order
};

std::vector<Segment> segments_of(const qetl::Config& config) {
  std::vector<Segment> out(1);
  for (const qetl::MatrixDimension& md : config.matrix) {
    std::vector<Segment> next;
    for (const Segment& s : out) {
      for (const auto& entry : md.entries) {
        Segment t = s;
        if (entry) {
          t.dimensions[*qetl::dimension_index(md.dimension)] = entry->label;
          t.share *= share(*entry);
        }
        next.push_back(std::move(t));
      }
    }
    out = std::move(next);
  }
  for (Segment& s : out) {
    std::vector<qetl::CellFilter> filters;
    for (std::size_t d = 0; d < qetl::kDimensionCount; ++d) {
      if (s.dimensions[d]) filters.push_back({std::string(qetl::kDimensions[d]), *s.dimensions[d], {}});
    }
    s.text = qetl::segment_text(filters);
  }
  return out;
}

// The customers of a bucket, tonight or the night before: the fixed window grows, the rolling
// one moves a little, closed cohorts stay.
double base_of(const qetl::WindowConfig& window, std::size_t bucket, bool previous) {
  switch (window.kind) {
    case qetl::WindowKind::fixed: return previous ? 199000 : 200000;
    case qetl::WindowKind::rolling: return previous ? 21000 : 20000;
    case qetl::WindowKind::cohort: return 3000 + 37.0 * static_cast<double>(bucket);
  }
  return 0;
}

void fill(MetricsRow& row, const Segment& s, double base, bool inflate) {
  const auto count = [&](double rate) { return static_cast<std::int64_t>(std::floor(base * rate * s.share)); };
  qetl::Metrics& m = row.metrics;
  m.clients_with_event = count(1.0);
  m.active_subscribers = count(0.3) * (inflate ? 3 : 1);
  m.active_trials = count(0.05);
  m.billing_retry = count(0.01);
  m.churned_subscribers = 12.5;
  m.canceled_trials = 40.25;
  m.avg_payment_count = "2.35";
  m.avg_price = "9.99";
  m.sales = std::to_string(m.active_subscribers * 999) + ".00";
  row.segment = s.text;
  row.dimensions = s.dimensions;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long max_rss_kib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// The peak RSS of this program's own memory (VmHWM of /proc/self/status). getrusage's
// ru_maxrss also counts the parent's RSS at fork() (Linux keeps the high-water mark across
// exec), so a small program started by a large Python process would report the Python's size.
long own_peak_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return kib;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--cells") != 0) {
    std::fprintf(stderr, "usage: qetl_checks_bench --cells N   (N a multiple of 1000, at least 2000)\n");
    return 64;
  }
  const std::size_t cells = std::strtoull(argv[2], nullptr, 10);
  if (cells < 2 * kSegments || cells % kSegments != 0) {
    std::fprintf(stderr, "qetl_checks_bench: --cells must be a multiple of 1000, at least 2000\n");
    return 64;
  }
  const auto started = Clock::now();
  try {
    const qetl::Config config = qetl::parse_config(config_text(cells / kSegments), "bench-checks.toml");
    const std::vector<Segment> segments = segments_of(config);
    if (segments.size() != kSegments) throw std::runtime_error("the matrix is not 1,000 segments");
    const long rss_before = own_peak_rss_kib();

    qetl::DataChecks checks(config, qetl::CheckSettings{});
    double in_checks = 0;
    std::size_t current_rows = 0, previous_rows = 0;
    MetricsRow row;
    row.project = "bench-app";
    row.environment = 1;
    row.run_id = "00000000-0000-4000-8000-000000000001";
    // Tonight's rows, then the night before's, as the two warehouse queries deliver them.
    for (bool previous : {false, true}) {
      const UnixSeconds snapshot = previous ? kSnapshot - kDay : kSnapshot;
      for (const qetl::WindowConfig& window : config.windows) {
        const std::vector<qetl::WindowBucket> tonight = qetl::window_buckets(window, kSnapshot);
        for (std::size_t b = 0; b < tonight.size(); ++b) {
          row.snapshot_at = snapshot;
          row.window_name = window.name;
          row.window_kind = qetl::to_string(window.kind);
          // A cohort keeps its bounds; fixed and rolling windows end at their snapshot.
          const bool moves = window.kind != qetl::WindowKind::cohort;
          row.window_from = tonight[b].from - (previous && window.kind == qetl::WindowKind::rolling ? kDay : 0);
          row.window_to = tonight[b].to - (previous && moves ? kDay : 0);
          row.fetched_at = snapshot + 3600;
          const double base = base_of(window, b, previous);
          for (std::size_t s = 0; s < segments.size(); ++s) {
            const std::size_t n = current_rows + previous_rows;
            fill(row, segments[s], base, !previous && n % 997 == 500);
            const auto t0 = Clock::now();
            if (previous) {
              checks.add_previous(row);
            } else {
              checks.add_current(row);
            }
            in_checks += seconds_since(t0);
            ++(previous ? previous_rows : current_rows);
          }
        }
      }
    }
    const auto t0 = Clock::now();
    const std::vector<qetl::DataCheckFinding> findings = checks.run("00000000-0000-4000-8000-000000000002");
    const double run_seconds = seconds_since(t0);
    in_checks += run_seconds;

    std::map<std::string, std::size_t> by_check;
    for (const qetl::DataCheckFinding& f : findings) ++by_check[f.check_name];
    std::string by_check_json;
    for (const auto& [name, n] : by_check) {
      by_check_json += (by_check_json.empty() ? "" : ", ") + ("\"" + name + "\": " + std::to_string(n));
    }
    std::printf(
        "{\"current_rows\": %zu, \"previous_rows\": %zu, \"segments\": %zu, \"buckets\": %zu, \"findings\": %zu, "
        "\"by_check\": {%s}, \"checks_seconds\": %.4f, \"run_seconds\": %.4f, \"total_seconds\": %.4f, "
        "\"peak_rss_before_rows_kib\": %ld, \"peak_rss_kib\": %ld, \"ru_maxrss_kib\": %ld}\n",
        current_rows, previous_rows, segments.size(), cells / kSegments, findings.size(), by_check_json.c_str(),
        in_checks, run_seconds, seconds_since(started), rss_before, own_peak_rss_kib(), max_rss_kib());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qetl_checks_bench: %s\n", e.what());
    return 70;
  }
}
