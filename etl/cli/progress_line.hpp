#pragma once
// The progress line a person sees on a terminal: cells done / total, failed, retries, current
// requests per second, elapsed and ETA, redrawn in place a few times a second. The ETA comes
// from the pacing (each project's remaining cells at its requests_per_minute, projects side by
// side), so it is right from the first second of a run paced at 30 requests a minute.
#include <chrono>
#include <deque>
#include <string>
#include <utility>

#include "config/config.hpp"
#include "runner/run_job.hpp"

namespace qetl::cli {

// Seconds the pacing still needs for the cells left: the slowest project decides.
double pacing_eta_seconds(const Config& config, const RunProgress& progress);

// "412/2000 cells (20%)  3 failed  5 retries  0.50 req/s  elapsed 13m 42s  ETA 52m 56s"
std::string render_progress_line(const RunProgress& progress, double elapsed_seconds, double requests_per_second,
                                 double eta_seconds);

// Feeds RunRequest::on_progress. Draws at most four times a second through
// log::set_status_line, which keeps log lines and the progress line apart.
class ProgressLine {
 public:
  explicit ProgressLine(const Config& config);
  ~ProgressLine();  // removes the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(const RunProgress& progress);

 private:
  using Clock = std::chrono::steady_clock;
  const Config& config_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_drawn_{};
  std::deque<std::pair<Clock::time_point, std::int64_t>> samples_;  // requests sent over the last seconds
};

// True when stderr is a terminal: the only place a redrawn line belongs.
bool stderr_is_terminal();

}  // namespace qetl::cli
