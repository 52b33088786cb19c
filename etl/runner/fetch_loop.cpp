#include "runner/fetch_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <random>
#include <unordered_map>

#include "api/answer.hpp"
#include "api/http_client.hpp"
#include "api/query.hpp"
#include "api/request_pacer.hpp"
#include "util/log.hpp"
#include "util/mask.hpp"

namespace qetl {
namespace {

using Clock = std::chrono::steady_clock;

struct PendingCell {
  std::size_t cell_index = 0;
  int attempts = 0;  // made so far
  Clock::time_point not_before{};
  std::optional<int> last_http_status;
  std::string last_error;
};

// Everything one project needs: its own pace, its own queue, its own key.
struct ProjectLane {
  std::string name;
  std::string api_key;
  RequestPacer pacer;
  std::deque<PendingCell> fresh;    // never tried, in plan order
  std::vector<PendingCell> retries; // waiting for their backoff to pass
  int in_flight = 0;
  bool stopped = false;             // key rejected

  ProjectLane(std::string n, std::string k, double rate) : name(std::move(n)), api_key(std::move(k)), pacer(rate) {}

  bool has_waiting() const { return !fresh.empty() || !retries.empty(); }

  // The retry that is due first, if it is due.
  std::optional<PendingCell> take_due_retry(Clock::time_point now) {
    auto it = std::min_element(retries.begin(), retries.end(),
                               [](const PendingCell& a, const PendingCell& b) { return a.not_before < b.not_before; });
    if (it == retries.end() || it->not_before > now) return std::nullopt;
    PendingCell c = std::move(*it);
    retries.erase(it);
    return c;
  }

  Clock::time_point earliest_retry() const {
    Clock::time_point t = Clock::time_point::max();
    for (const PendingCell& c : retries) t = std::min(t, c.not_before);
    return t;
  }
};

struct InFlight {
  std::size_t lane = 0;
  PendingCell cell;
  Clock::time_point started{};
};

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

FetchStats fetch_cells(const FetchSettings& settings, const std::vector<Cell>& cells,
                       const std::vector<std::string>& api_keys,
                       const std::function<void(CellResult&&)>& on_result, const std::atomic<int>& stop) {
  FetchStats stats;
  std::vector<ProjectLane> lanes;
  std::vector<std::size_t> lane_of_project(api_keys.size(), SIZE_MAX);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const Cell& cell = cells[i];
    std::size_t& lane = lane_of_project.at(cell.project_index);
    if (lane == SIZE_MAX) {
      lane = lanes.size();
      lanes.emplace_back(cell.project, api_keys.at(cell.project_index), settings.api.requests_per_minute);
    }
    lanes[lane].fresh.push_back(PendingCell{i, 0, {}, std::nullopt, {}});
  }

  HttpClientOptions http_options;
  http_options.user_agent = settings.user_agent;
  http_options.timeout_seconds = settings.api.timeout_seconds;
  http_options.ca_file = settings.api.ca_file;
  http_options.max_connections = std::max<long>(8, static_cast<long>(lanes.size()) * settings.api.concurrency);
  HttpClient http(http_options);
  std::unordered_map<HttpClient::RequestId, InFlight> in_flight;
  std::mt19937_64 jitter(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  auto finish = [&](ProjectLane& lane, PendingCell&& c, bool ok, Metrics metrics, std::string error) {
    CellResult r;
    r.cell_index = c.cell_index;
    r.ok = ok;
    r.metrics = std::move(metrics);
    r.fetched_at = now_utc();
    r.attempts = c.attempts;
    r.last_http_status = c.last_http_status;
    r.error = redact(std::move(error), lane.api_key);
    on_result(std::move(r));
  };

  // A project whose key was rejected fails its remaining cells without sending them.
  auto stop_lane = [&](ProjectLane& lane, long status) {
    lane.stopped = true;
    stats.rejected_projects.push_back(lane.name);
    log::error("API key rejected; no more requests for this project",
               {{"project", lane.name}, {"http_status", std::to_string(status)}});
    const std::string why = "not sent: the project's API key was rejected (HTTP " + std::to_string(status) + ")";
    for (auto& c : lane.fresh) finish(lane, std::move(c), false, {}, why);
    for (auto& c : lane.retries) finish(lane, std::move(c), false, {}, why);
    lane.fresh.clear();
    lane.retries.clear();
  };

  auto work_left = [&]() {
    if (!in_flight.empty()) return true;
    for (const ProjectLane& l : lanes) {
      if (!l.stopped && l.has_waiting()) return true;
    }
    return false;
  };

  while (work_left()) {
    if (stop.load() != 0) {
      stats.end = FetchEnd::interrupted;
      http.abort_all();
      break;
    }
    // Start whatever pacing and concurrency allow.
    const Clock::time_point now = Clock::now();
    Clock::time_point wake_at = now + std::chrono::milliseconds(100);
    for (std::size_t li = 0; li < lanes.size(); ++li) {
      ProjectLane& lane = lanes[li];
      while (!lane.stopped && lane.in_flight < settings.api.concurrency && lane.has_waiting()) {
        if (!lane.pacer.ready(now)) {
          wake_at = std::min(wake_at, lane.pacer.next_start());
          break;
        }
        std::optional<PendingCell> next = lane.take_due_retry(now);
        if (!next && !lane.fresh.empty()) {
          next = std::move(lane.fresh.front());
          lane.fresh.pop_front();
        }
        if (!next) {
          wake_at = std::min(wake_at, lane.earliest_retry());
          break;
        }
        const Cell& cell = cells[next->cell_index];
        const std::string query = build_query(cell);
        next->attempts += 1;
        const HttpClient::RequestId id = http.start(request_url(settings.api.base_url, lane.api_key, query));
        lane.pacer.on_request_started(now);
        lane.in_flight += 1;
        ProjectRequests& counts = stats.by_project[lane.name];
        stats.requests_sent += 1;
        counts.requests_sent += 1;
        if (next->attempts > 1) {
          stats.retries += 1;
          counts.retries += 1;
        }
        in_flight.emplace(id, InFlight{li, std::move(*next), now});
      }
    }

    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - Clock::now()).count();
    for (auto& [id, result] : http.poll(static_cast<int>(std::clamp<long long>(wait, 0, 100)))) {
      auto it = in_flight.find(id);
      if (it == in_flight.end()) continue;
      InFlight f = std::move(it->second);
      in_flight.erase(it);
      ProjectLane& lane = lanes[f.lane];
      lane.in_flight -= 1;
      PendingCell& c = f.cell;

      const Answer answer = interpret_answer(result, now_utc());
      ProjectRequests& counts = stats.by_project[lane.name];
      stats.responses_by_status[result.status] += 1;
      counts.responses_by_status[result.status] += 1;
      if (result.status == 0) stats.transport_failures += 1;
      if (answer.http_status != 0) c.last_http_status = static_cast<int>(answer.http_status);
      c.last_error = answer.message;
      if (log::enabled(log::Level::debug)) {
        // -v: one line per request, once its answer (or failure) is known.
        const double took = std::chrono::duration<double>(Clock::now() - f.started).count();
        char duration[32];
        std::snprintf(duration, sizeof duration, "%.3f", took);
        log::debug("request", {{"project", lane.name},
                               {"url", display_url(settings.api.base_url, build_query(cells[c.cell_index]))},
                               {"status", result.status == 0 ? std::string("none") : std::to_string(result.status)},
                               {"attempt", std::to_string(c.attempts)},
                               {"seconds", duration}});
      }

      switch (answer.kind) {
        case AnswerKind::metrics:
          lane.pacer.on_success();
          finish(lane, std::move(c), true, *answer.metrics, {});
          break;
        case AnswerKind::aborted:
          break;  // not a result: the cell simply was not fetched in this run
        case AnswerKind::cell_rejected:
          finish(lane, std::move(c), false, {}, answer.message);
          break;
        case AnswerKind::key_rejected:
          finish(lane, std::move(c), false, {}, answer.message);
          if (!lane.stopped) stop_lane(lane, answer.http_status);
          break;
        case AnswerKind::wrong_base_url:
          stats.end = FetchEnd::wrong_base_url;
          stats.fatal_message = answer.message;
          finish(lane, std::move(c), false, {}, answer.message);
          break;
        case AnswerKind::retryable: {
          const Clock::time_point after = Clock::now();
          if (answer.rate_limited) {
            stats.rate_limited += 1;
            counts.rate_limited += 1;
            lane.pacer.on_rate_limited(after + seconds(answer.retry_after_seconds.value_or(0)));
          }
          if (c.attempts >= settings.api.max_attempts || lane.stopped) {
            finish(lane, std::move(c), false, {},
                   answer.message + " (gave up after " + std::to_string(c.attempts) + " attempts)");
            break;
          }
          double wait_s = backoff_seconds(settings.backoff, c.attempts + 1, unit(jitter));
          if (answer.retry_after_seconds) wait_s = std::max(wait_s, *answer.retry_after_seconds);
          c.not_before = after + seconds(wait_s);
          log::warning("retrying", {{"project", lane.name}, {"attempt", std::to_string(c.attempts)},
                                    {"error", redact(answer.message, lane.api_key)},
                                    {"wait_seconds", std::to_string(wait_s)}});
          lane.retries.push_back(std::move(c));
          break;
        }
      }
    }
    if (stats.end == FetchEnd::wrong_base_url) {
      http.abort_all();
      break;
    }
    if (settings.on_tick) settings.on_tick(stats);
  }
  return stats;
}

}  // namespace qetl
