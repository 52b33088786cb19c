// The benchmark's helper program (bench/run drives it; see bench/README.md).
//
//   qetl_bench load --url URL [--schema S] --rows N [--first F] [--pass P] [--progress K]
//                   [--batch-rows B] [--night K]
//       N generated customer_metrics rows through the job's own loading code: RowBatcher with
//       the job's batch size and age (run_job.hpp) over Warehouse::upsert_metrics. The rows
//       stand in for answers from the network; pass P changes every figure but no key, so a
//       second pass updates every row of the first. --first F: rows F .. F+N-1 of the same
//       sequence, so a load can be cut into chunks that alternate with a baseline's.
//       --batch-rows B replaces the job's batch size, to see what the batch size costs (the
//       benchmark itself always uses the job's). --night K: the rows of the snapshot K days
//       after the usual one (a daily-cohort matrix: each night's buckets move on by a day, so
//       half of the 2,000 rows of one night continue the night before's series), loaded as a
//       run is (start_run, the load, finish_run); the run's end, which brings the trend tables
//       up to date, is timed apart as "finish_seconds".
//   qetl_bench csv --backend postgresql|sqlite --rows N [--first F] [--pass P] --out FILE
//       The same rows as CSV, each value as the text that backend receives from the job, for
//       the baselines (psql COPY, the sqlite3 shell's .import).
//   qetl_bench http --urls FILE --concurrency C
//       GETs every URL of FILE, C at a time, over the job's HTTP client: the mock's capacity.
//
// Each prints one JSON object on stdout.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "api/http_client.hpp"
#include "runner/row_batcher.hpp"
#include "runner/run_job.hpp"
#include "util/time.hpp"
#include "warehouse/metrics_columns.hpp"
#include "warehouse/warehouse.hpp"

namespace {

using qetl::MetricsRow;
using qetl::UnixSeconds;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Rows: 1,000 segments (platform x country x product x status, as a real matrix would have)
// times as many daily cohorts as N needs. Deterministic, so the CSV and the load see the very
// same rows.
// ---------------------------------------------------------------------------------------------

constexpr UnixSeconds kSnapshot = 1795132800;  // 2026-11-20 00:00:00 UTC
constexpr const char* kPlatforms[] = {nullptr, "iOS", "Android", "Stripe"};
constexpr const char* kCountries[] = {nullptr, "US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "EU"};
constexpr const char* kProducts[] = {nullptr, "premium_monthly", "premium_annual", "lifetime", "weekly_trial"};
constexpr const char* kStatuses[] = {nullptr, "1", "2", "3", "4"};
constexpr std::size_t kSegments = 4 * 10 * 5 * 5;

struct Segment {
  std::string text;
  const char* platform;
  const char* country;
  const char* product;
  const char* status;
};

std::vector<Segment> make_segments() {
  std::vector<Segment> out;
  out.reserve(kSegments);
  for (const char* platform : kPlatforms) {
    for (const char* country : kCountries) {
      for (const char* product : kProducts) {
        for (const char* status : kStatuses) {
          // The job's canonical text: dimension=label pairs sorted by dimension, ';'-joined.
          std::string text;
          auto add = [&](const char* dim, const char* value) {
            if (value == nullptr) return;
            if (!text.empty()) text += ';';
            text += std::string(dim) + "=" + value;
          };
          add("country", country);
          add("product_id", product);
          add("status", status);
          add("target_platform", platform);
          out.push_back(Segment{text.empty() ? "all" : text, platform, country, product, status});
        }
      }
    }
  }
  return out;
}

// splitmix64: cheap, deterministic figures per (row, pass).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string cents_text(std::uint64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%02llu", static_cast<unsigned long long>(cents / 100),
                static_cast<unsigned long long>(cents % 100));
  return buf;
}

class RowGenerator {
 public:
  RowGenerator(int pass, int night)
      : pass_(pass), snapshot_(kSnapshot + static_cast<UnixSeconds>(night) * 86400), segments_(make_segments()) {
    char id[48];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%06d%06d", night, pass);
    run_id_ = id;
  }
  UnixSeconds snapshot() const { return snapshot_; }
  const std::string& run_id() const { return run_id_; }

  void fill(std::size_t i, MetricsRow& row) const {
    const Segment& s = segments_[i % kSegments];
    const auto day = static_cast<UnixSeconds>(i / kSegments);
    row.snapshot_at = snapshot_;
    row.project = "bench-app";
    row.environment = 1;
    row.window_name = "daily_cohorts";
    row.window_kind = "cohort";
    row.window_from = snapshot_ - (day + 1) * 86400;
    row.window_to = row.window_from + 86400;
    row.segment = s.text;
    row.dimensions = {};
    auto set = [&](const char* dim, const char* value) {
      if (value != nullptr) row.dimensions[*qetl::dimension_index(dim)] = value;
    };
    set("target_platform", s.platform);
    set("country", s.country);
    set("product_id", s.product);
    set("status", s.status);
    const std::uint64_t r = mix(i * 7919 + static_cast<std::uint64_t>(pass_));
    qetl::Metrics& m = row.metrics;
    m.clients_with_event = static_cast<std::int64_t>(r % 100000);
    m.active_subscribers = static_cast<std::int64_t>((r >> 17) % 40000);
    m.active_trials = static_cast<std::int64_t>((r >> 29) % 9000);
    m.billing_retry = static_cast<std::int64_t>((r >> 37) % 700);
    m.churned_subscribers = static_cast<double>((r >> 11) % 10001) / 100.0;
    m.canceled_trials = static_cast<double>((r >> 23) % 10001) / 100.0;
    m.avg_payment_count = cents_text((r >> 5) % 2500);
    m.avg_price = cents_text((r >> 13) % 15000);
    m.sales = cents_text(r % 100000000000ull);
    row.fetched_at = snapshot_ + 3600 + pass_;
    row.run_id = run_id_;
  }

 private:
  int pass_;
  UnixSeconds snapshot_;
  std::vector<Segment> segments_;
  std::string run_id_;
};

// ---------------------------------------------------------------------------------------------
// CSV as each backend receives the values from the job: PostgreSQL gets the COPY text of
// postgres_warehouse.cpp (timestamps with +00, NULL for an unfiltered dimension); SQLite gets
// what sqlite_warehouse.cpp binds (timestamps without zone). The sqlite3 shell's .import has no
// way to write NULL: an unfiltered dimension arrives there as '' (no cheaper for it either).
// ---------------------------------------------------------------------------------------------

void csv_field(std::string& line, const std::string& value) {
  if (!line.empty()) line += ',';
  if (value.find_first_of(",\"\n\r") == std::string::npos && !value.empty()) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

void csv_null(std::string& line) {
  if (!line.empty()) line += ',';
}

std::string csv_line(const MetricsRow& r, bool postgres) {
  std::string line;
  auto ts = [&](UnixSeconds t) { return qetl::format_sql_timestamp(t) + (postgres ? "+00" : ""); };
  csv_field(line, ts(r.snapshot_at));
  csv_field(line, r.project);
  csv_field(line, std::to_string(r.environment));
  csv_field(line, r.window_name);
  csv_field(line, r.window_kind);
  csv_field(line, ts(r.window_from));
  csv_field(line, ts(r.window_to));
  csv_field(line, r.segment);
  for (const auto& d : r.dimensions) {
    if (d) {
      csv_field(line, *d);
    } else {
      csv_null(line);
    }
  }
  const qetl::Metrics& m = r.metrics;
  csv_field(line, std::to_string(m.clients_with_event));
  csv_field(line, std::to_string(m.active_subscribers));
  csv_field(line, std::to_string(m.active_trials));
  csv_field(line, std::to_string(m.billing_retry));
  csv_field(line, qetl::exact_double_text(m.churned_subscribers));
  csv_field(line, qetl::exact_double_text(m.canceled_trials));
  csv_field(line, m.avg_payment_count);
  csv_field(line, m.avg_price);
  csv_field(line, m.sales);
  csv_field(line, ts(r.fetched_at));
  csv_field(line, r.run_id);
  line += '\n';
  return line;
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

struct Args {
  std::map<std::string, std::string> values;
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  std::string need(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) throw std::runtime_error("missing --" + name);
    return it->second;
  }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) throw std::runtime_error("bad argument " + k);
    a.values[k.substr(2)] = argv[++i];
  }
  return a;
}

int cmd_load(const Args& a) {
  const std::size_t rows = std::stoul(a.need("rows"));
  const std::size_t first = std::stoul(a.get("first", "0"));
  const int pass = std::stoi(a.get("pass", "1"));
  const bool as_run = a.values.count("night") != 0;
  const int night = std::stoi(a.get("night", "0"));
  auto warehouse = qetl::open_warehouse(a.need("url"), a.get("schema", "qonversion"));
  warehouse->migrate();
  RowGenerator gen(pass, night);
  qetl::RunRecord run;
  run.run_id = gen.run_id();
  run.snapshot_at = gen.snapshot();
  run.started_at = gen.snapshot() + 60;
  run.version = "bench";
  run.config_sha256 = std::string(64, '0');
  run.host = "bench";
  run.projects = {"bench-app"};
  if (as_run) warehouse->start_run(run);
  MetricsRow row;

  // The generator alone, so its share of the load time is known.
  const auto g0 = Clock::now();
  std::size_t checksum = 0;
  for (std::size_t i = first; i < first + rows; ++i) {
    gen.fill(i, row);
    checksum += row.segment.size();
  }
  const double gen_seconds = seconds_since(g0);

  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  const std::size_t batch_rows = std::stoul(a.get("batch-rows", std::to_string(qetl::kBatchRows)));
  const qetl::SystemClock clock;
  qetl::RowBatcher batcher(*warehouse, batch_rows, std::chrono::milliseconds(qetl::kBatchMillis), clock, nullptr);
  // --progress K: elapsed seconds every K rows on stderr (does the cost per row grow with the table?)
  const std::size_t progress = std::stoul(a.get("progress", "0"));
  auto last = t0;
  for (std::size_t i = first; i < first + rows; ++i) {
    gen.fill(i, row);
    batcher.add_row(i, row);
    if (progress != 0 && (i + 1 - first) % progress == 0) {
      std::fprintf(stderr, "%zu rows: %.3f s, last %zu in %.3f s\n", i + 1 - first, seconds_since(t0), progress,
                   std::chrono::duration<double>(Clock::now() - last).count());
      last = Clock::now();
    }
  }
  batcher.flush();
  const double wall = seconds_since(t0);
  const double cpu = cpu_seconds() - cpu0;
  double finish_seconds = 0;
  if (as_run) {
    run.status = "succeeded";
    run.finished_at = run.started_at + 60;
    run.rows_upserted = static_cast<std::int64_t>(batcher.rows_upserted());
    const auto f0 = Clock::now();
    warehouse->finish_run(run);
    finish_seconds = seconds_since(f0);
  }
  std::printf(
      "{\"rows\": %zu, \"upserted\": %zu, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"generator_seconds\": %.4f, "
      "\"batch_rows\": %zu, \"finish_seconds\": %.4f, \"checksum\": %zu}\n",
      rows, batcher.rows_upserted(), wall, cpu, gen_seconds, batch_rows, finish_seconds, checksum);
  return batcher.rows_upserted() == rows ? 0 : 1;
}

int cmd_csv(const Args& a) {
  const std::size_t rows = std::stoul(a.need("rows"));
  const std::size_t first = std::stoul(a.get("first", "0"));
  const int pass = std::stoi(a.get("pass", "1"));
  const std::string backend = a.need("backend");
  if (backend != "postgresql" && backend != "sqlite") throw std::runtime_error("--backend postgresql|sqlite");
  std::ofstream out(a.need("out"), std::ios::binary);
  RowGenerator gen(pass, 0);
  MetricsRow row;
  std::string buffer;
  for (std::size_t i = first; i < first + rows; ++i) {
    gen.fill(i, row);
    buffer += csv_line(row, backend == "postgresql");
    if (buffer.size() > (1u << 20)) {
      out << buffer;
      buffer.clear();
    }
  }
  out << buffer;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + a.need("out"));
  std::printf("{\"rows\": %zu, \"columns\": \"%s\"}\n", rows, qetl::join_columns(qetl::metrics_columns()).c_str());
  return 0;
}

int cmd_http(const Args& a) {
  std::vector<std::string> urls;
  {
    std::ifstream in(a.need("urls"));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) urls.push_back(line);
    }
  }
  const int concurrency = std::stoi(a.get("concurrency", "32"));
  qetl::CurlGlobal curl;
  qetl::HttpClientOptions options;
  options.user_agent = "qetl-bench";
  options.max_connections = concurrency;
  qetl::HttpClient http(options);
  std::map<long, std::size_t> by_status;
  std::size_t next = 0, done = 0;
  const auto t0 = Clock::now();
  while (done < urls.size()) {
    while (next < urls.size() && static_cast<int>(http.in_flight()) < concurrency) http.start(urls[next++]);
    for (auto& [id, result] : http.poll(100)) {
      (void)id;
      by_status[result.status] += 1;
      ++done;
    }
  }
  const double wall = seconds_since(t0);
  std::string statuses;
  for (const auto& [status, n] : by_status) {
    statuses += (statuses.empty() ? "" : ", ") + std::string("\"") + std::to_string(status) + "\": " + std::to_string(n);
  }
  std::printf("{\"requests\": %zu, \"seconds\": %.4f, \"per_second\": %.1f, \"by_status\": {%s}}\n", urls.size(),
              wall, static_cast<double>(urls.size()) / wall, statuses.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: qetl_bench load|csv|http --name value ...\n");
    return 64;
  }
  try {
    const std::string cmd = argv[1];
    const Args a = parse(argc, argv);
    if (cmd == "load") return cmd_load(a);
    if (cmd == "csv") return cmd_csv(a);
    if (cmd == "http") return cmd_http(a);
    std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
    return 64;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qetl_bench: %s\n", e.what());
    return 70;
  }
}
