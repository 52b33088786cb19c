#include "runner/fetch_loop.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <random>
#include <unordered_map>

#include "api/answer.hpp"
#include "api/failure_policy.hpp"
#include "api/http_client.hpp"
#include "api/query.hpp"
#include "api/request_pacer.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace qetl {
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

struct PendingCell {
  std::size_t cell_index = 0;
  int attempts = 0;  // made so far
  SteadyTime not_before{};
  std::optional<int> last_http_status;
  std::string last_error;
};

enum class LaneState { active, stopped, gave_up };

// One project: its queue, its key, the pacer of that key (shared with the projects that use the
// same key), and how long its requests have got no usable answer.
struct ProjectLane {
  std::string name;
  std::string api_key;
  std::size_t pacer = 0;
  std::deque<PendingCell> fresh;     // never tried, in plan order
  std::vector<PendingCell> retries;  // waiting for their backoff to pass
  int in_flight = 0;
  LaneState state = LaneState::active;
  std::optional<SteadyTime> failing_since;  // sent time of the oldest request of the current failing streak

  bool has_waiting() const { return !fresh.empty() || !retries.empty(); }

  // The retry that is due first, if it is due.
  std::optional<PendingCell> take_due_retry(SteadyTime now) {
    auto it = std::min_element(retries.begin(), retries.end(),
                               [](const PendingCell& a, const PendingCell& b) { return a.not_before < b.not_before; });
    if (it == retries.end() || it->not_before > now) return std::nullopt;
    PendingCell c = std::move(*it);
    retries.erase(it);
    return c;
  }

  SteadyTime earliest_retry() const {
    SteadyTime t = SteadyTime::max();
    for (const PendingCell& c : retries) t = std::min(t, c.not_before);
    return t;
  }
};

struct InFlight {
  std::size_t lane = 0;
  PendingCell cell;
  SteadyTime sent_at{};
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

class FetchLoop {
 public:
  FetchLoop(const FetchSettings& settings, const std::vector<Cell>& cells, const std::vector<std::string>& api_keys,
            const std::function<void(CellResult&&)>& on_result, Transport& transport, const Clock& clock)
      : settings_(settings), cells_(cells), on_result_(on_result), transport_(transport), clock_(clock) {
    std::vector<std::size_t> lane_of_project(api_keys.size(), SIZE_MAX);
    std::map<std::string, std::size_t> pacer_of_key;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const Cell& cell = cells[i];
      std::size_t& lane = lane_of_project.at(cell.project_index);
      if (lane == SIZE_MAX) {
        lane = lanes_.size();
        ProjectLane l;
        l.name = cell.project;
        l.api_key = api_keys.at(cell.project_index);
        // SPEC: requests_per_minute is per key; projects sharing a key share its pace.
        auto [it, added] = pacer_of_key.emplace(l.api_key, pacers_.size());
        if (added) pacers_.emplace_back(settings.api.requests_per_minute);
        l.pacer = it->second;
        lanes_.push_back(std::move(l));
      }
      lanes_[lane].fresh.push_back(PendingCell{i, 0, {}, std::nullopt, {}});
    }
    stats_.projects = lanes_.size();
    if (settings.unit_random) {
      unit_random_ = settings.unit_random;
    } else {
      auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
      unit_random_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
    }
  }

  FetchStats run(const std::atomic<int>& stop) {
    while (work_left()) {
      if (stop.load() != 0) {
        stats_.end = FetchEnd::interrupted;
        transport_.abort_all();
        break;
      }
      const SteadyTime wake_at = start_what_is_due(clock_.now());
      for (auto& [id, result] : transport_.wait(wake_at)) handle(id, std::move(result));
      if (stats_.end == FetchEnd::stopped) {
        transport_.abort_all();
        break;
      }
      if (settings_.on_tick) settings_.on_tick(stats_);
    }
    return std::move(stats_);
  }

 private:
  bool work_left() const {
    if (!in_flight_.empty()) return true;
    for (const ProjectLane& l : lanes_) {
      if (l.state == LaneState::active && l.has_waiting()) return true;
    }
    return false;
  }

  // Starts whatever pacing and concurrency allow; returns when to look again.
  SteadyTime start_what_is_due(SteadyTime now) {
    SteadyTime wake_at = now + kTick;
    // Lanes that share a key take turns: the first lane of the list must not starve the others.
    const std::size_t n = lanes_.size();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t li = (first_lane_ + k) % n;
      ProjectLane& lane = lanes_[li];
      while (lane.state == LaneState::active && lane.in_flight < settings_.api.concurrency && lane.has_waiting()) {
        RequestPacer& pacer = pacers_[lane.pacer];
        if (!pacer.ready(now)) {
          wake_at = std::min(wake_at, pacer.next_start());
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
        send(li, std::move(*next), now);
      }
    }
    first_lane_ = n == 0 ? 0 : (first_lane_ + 1) % n;
    return wake_at;
  }

  void send(std::size_t li, PendingCell c, SteadyTime now) {
    ProjectLane& lane = lanes_[li];
    c.attempts += 1;
    const Transport::RequestId id =
        transport_.start(request_url(settings_.api.base_url, lane.api_key, build_query(cells_[c.cell_index])));
    pacers_[lane.pacer].on_request_started(now);
    lane.in_flight += 1;
    ProjectRequests& counts = stats_.by_project[lane.name];
    stats_.requests_sent += 1;
    counts.requests_sent += 1;
    if (c.attempts > 1) {
      stats_.retries += 1;
      counts.retries += 1;
    }
    in_flight_.emplace(id, InFlight{li, std::move(c), now});
  }

  void handle(Transport::RequestId id, HttpResult result) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return;
    InFlight f = std::move(it->second);
    in_flight_.erase(it);
    ProjectLane& lane = lanes_[f.lane];
    lane.in_flight -= 1;
    PendingCell& c = f.cell;
    const SteadyTime now = clock_.now();

    const Answer answer = read_answer(result, lane.api_key);
    const FailurePolicy& policy = policy_for(answer.kind);
    if (policy.verdict == Verdict::ignore) return;  // aborted: the cell simply was not fetched
    count(lane, result, answer, c, f, now);
    if (answer.http_status != 0) c.last_http_status = static_cast<int>(answer.http_status);
    c.last_error = answer.message;

    if (policy.usable) {
      lane.failing_since.reset();
    } else if (!lane.failing_since) {
      lane.failing_since = f.sent_at;
    }
    if (result.opened_connection) {
      pacers_[lane.pacer].on_answer_after_connecting(now);
    } else if (answer.http_status != 0) {
      pacers_[lane.pacer].on_answer(f.sent_at, now);
    }
    if (policy.throttled) {
      pacers_[lane.pacer].on_rate_limited(f.sent_at, now, capped(answer.retry_after_seconds.value_or(0)));
    }

    switch (policy.verdict) {
      case Verdict::store:
        pacers_[lane.pacer].on_success(now);
        finish(lane, std::move(c), true, *answer.metrics, {});
        break;
      case Verdict::fail_cell:
        finish(lane, std::move(c), false, {}, answer.message);
        break;
      case Verdict::stop_project:
        finish(lane, std::move(c), false, {}, answer.message);
        if (lane.state == LaneState::active) stop_lane(lane, policy, answer);
        break;
      case Verdict::stop_run:
        finish(lane, std::move(c), false, {}, answer.message);
        stats_.end = FetchEnd::stopped;
        stats_.stop_exit_code = policy.exit_code;
        stats_.fatal_message = std::string(policy.why) + " (" + answer.message + ")";
        break;
      case Verdict::retry:
        retry_later(lane, std::move(c), answer, now);
        break;
      case Verdict::ignore:
        break;
    }
    if (lane.state == LaneState::active && lane.failing_since &&
        now - *lane.failing_since >= seconds_as_duration(settings_.give_up_after_seconds)) {
      give_up(lane, now);
    }
  }

  void count(ProjectLane& lane, const HttpResult& result, const Answer& answer, const PendingCell& c,
             const InFlight& f, SteadyTime now) {
    ProjectRequests& counts = stats_.by_project[lane.name];
    stats_.responses_by_status[result.status] += 1;
    counts.responses_by_status[result.status] += 1;
    if (result.status == 0) stats_.transport_failures += 1;
    if (answer.kind == AnswerKind::rate_limited) {
      stats_.rate_limited += 1;
      counts.rate_limited += 1;
    }
    if (log::enabled(log::Level::debug)) {
      // -v: one line per request, once its answer (or failure) is known.
      log::debug("request", {{"project", lane.name},
                             {"url", display_url(settings_.api.base_url, build_query(cells_[c.cell_index]))},
                             {"status", result.status == 0 ? std::string("none") : std::to_string(result.status)},
                             {"attempt", std::to_string(c.attempts)},
                             {"seconds", seconds_text(duration_seconds(now - f.sent_at))}});
    }
  }

  Duration capped(double seconds) const {
    return seconds_as_duration(std::min(seconds, settings_.max_retry_wait_seconds));
  }

  void retry_later(ProjectLane& lane, PendingCell c, const Answer& answer, SteadyTime now) {
    if (lane.state != LaneState::active) {
      finish(lane, std::move(c), false, {}, answer.message + " (" + stop_reason(lane) + ")");
      return;
    }
    if (c.attempts >= settings_.api.max_attempts) {
      finish(lane, std::move(c), false, {},
             answer.message + " (gave up after " + std::to_string(c.attempts) + " attempts)");
      return;
    }
    double wait_s = std::min(backoff_seconds(settings_.backoff, c.attempts + 1, unit_random_()),
                             settings_.max_retry_wait_seconds);
    if (answer.retry_after_seconds) {
      wait_s = std::max(wait_s, std::min(*answer.retry_after_seconds, settings_.max_retry_wait_seconds));
    }
    c.not_before = now + seconds_as_duration(wait_s);
    log::warning("retrying", {{"project", lane.name}, {"attempt", std::to_string(c.attempts)},
                              {"error", answer.message}, {"wait_seconds", seconds_text(wait_s)}});
    lane.retries.push_back(std::move(c));
  }

  std::string stop_reason(const ProjectLane& lane) const {
    if (lane.state == LaneState::gave_up) return "the project gave up: no usable answer from the API";
    return "the project's API key was rejected";
  }

  // A project whose key was rejected fails its remaining cells without sending them.
  void stop_lane(ProjectLane& lane, const FailurePolicy& policy, const Answer& answer) {
    lane.state = LaneState::stopped;
    stats_.rejected_projects.push_back(lane.name);
    log::error(std::string(policy.why) + "; no more requests for this project",
               {{"project", lane.name}, {"http_status", std::to_string(answer.http_status)}});
    const std::string why = "not sent: the project's API key was rejected (HTTP " +
                            std::to_string(answer.http_status) + ")";
    for (auto& c : lane.fresh) finish(lane, std::move(c), false, {}, why);
    for (auto& c : lane.retries) finish(lane, std::move(c), false, {}, why);
    lane.fresh.clear();
    lane.retries.clear();
  }

  // SPEC: a project whose requests got no usable answer for give_up_after_seconds stops
  // sending. Cells that were tried fail; cells never tried are left alone, so that
  // `run --resume` fetches them later, and are not failures.
  void give_up(ProjectLane& lane, SteadyTime now) {
    lane.state = LaneState::gave_up;
    stats_.given_up_projects.push_back(lane.name);
    const double silent = duration_seconds(now - *lane.failing_since);
    stats_.cells_not_tried += static_cast<std::int64_t>(lane.fresh.size());
    log::error("no usable answer from the API: this project stops sending; run --resume fetches the rest",
               {{"project", lane.name}, {"seconds_without_answer", seconds_text(silent)},
                {"cells_not_tried", std::to_string(lane.fresh.size())}});
    for (auto& c : lane.retries) {
      finish(lane, std::move(c), false, {}, c.last_error + " (" + stop_reason(lane) + ")");
    }
    lane.retries.clear();
    lane.fresh.clear();
  }

  void finish(ProjectLane& lane, PendingCell&& c, bool ok, Metrics metrics, std::string error) {
    CellResult r;
    r.cell_index = c.cell_index;
    r.ok = ok;
    r.metrics = std::move(metrics);
    r.fetched_at = clock_.unix_now();
    r.attempts = c.attempts;
    r.last_http_status = c.last_http_status;
    r.error = clean_text(cut_out_secret(std::move(error), lane.api_key));
    on_result_(std::move(r));
  }

  const FetchSettings& settings_;
  const std::vector<Cell>& cells_;
  const std::function<void(CellResult&&)>& on_result_;
  Transport& transport_;
  const Clock& clock_;
  std::vector<ProjectLane> lanes_;
  std::vector<RequestPacer> pacers_;  // one per distinct API key
  std::unordered_map<Transport::RequestId, InFlight> in_flight_;
  std::function<double()> unit_random_;
  std::size_t first_lane_ = 0;
  FetchStats stats_;
};

}  // namespace

FetchStats fetch_cells(const FetchSettings& settings, const std::vector<Cell>& cells,
                       const std::vector<std::string>& api_keys, const std::function<void(CellResult&&)>& on_result,
                       const std::atomic<int>& stop, Transport& transport, const Clock& clock) {
  return FetchLoop(settings, cells, api_keys, on_result, transport, clock).run(stop);
}

FetchStats fetch_cells(const FetchSettings& settings, const std::vector<Cell>& cells,
                       const std::vector<std::string>& api_keys, const std::function<void(CellResult&&)>& on_result,
                       const std::atomic<int>& stop) {
  std::size_t projects = 0;
  for (const std::string& k : api_keys) projects += k.empty() ? 0 : 1;
  HttpClientOptions http_options;
  http_options.user_agent = settings.user_agent;
  http_options.timeout_seconds = settings.api.timeout_seconds;
  http_options.ca_file = settings.api.ca_file;
  http_options.max_connections = std::max<long>(8, static_cast<long>(std::max<std::size_t>(projects, 1)) *
                                                       settings.api.concurrency);
  HttpClient http(http_options);
  const SystemClock clock;
  return fetch_cells(settings, cells, api_keys, on_result, stop, http, clock);
}

}  // namespace qetl
