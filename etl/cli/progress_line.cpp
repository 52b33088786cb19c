#include "cli/progress_line.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/plan_text.hpp"
#include "util/log.hpp"

namespace qetl::cli {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(250);
// The request rate shown is over this window: long enough to be steady at 30 a minute.
constexpr auto kRateWindow = std::chrono::seconds(20);

}  // namespace

double pacing_eta_seconds(const Config& config, const RunProgress& progress) {
  std::size_t largest = 0;
  for (const auto& [project, left] : progress.cells_left_by_project) largest = std::max(largest, left);
  return static_cast<double>(largest) * 60.0 / config.api.requests_per_minute;
}

std::string render_progress_line(const RunProgress& p, double elapsed_seconds, double requests_per_second,
                                 double eta_seconds) {
  const int percent = p.cells_total == 0 ? 100 : static_cast<int>(p.cells_done * 100 / p.cells_total);
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.2f", requests_per_second);
  return std::to_string(p.cells_done) + "/" + std::to_string(p.cells_total) + " cells (" + std::to_string(percent) +
         "%)  " + std::to_string(p.cells_failed) + " failed  " + std::to_string(p.retries) + " retries  " + rate +
         " req/s  elapsed " + human_duration(elapsed_seconds) + "  ETA " + human_duration(eta_seconds);
}

ProgressLine::ProgressLine(const Config& config) : config_(config) {}

ProgressLine::~ProgressLine() { log::set_status_line(""); }

void ProgressLine::update(const RunProgress& progress) {
  const Clock::time_point now = Clock::now();
  if (now - last_drawn_ < kRedrawEvery) return;  // called up to every answer: keep it cheap
  last_drawn_ = now;
  samples_.emplace_back(now, progress.requests_sent);
  while (samples_.size() > 2 && now - samples_.front().first > kRateWindow) samples_.pop_front();

  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double window = std::chrono::duration<double>(now - samples_.front().first).count();
  const double rate = window > 0.5 ? static_cast<double>(progress.requests_sent - samples_.front().second) / window : 0;
  double eta = pacing_eta_seconds(config_, progress);
  // Slower than the pacing (429s lowered the rate, slow answers): the observed pace is the
  // honest one once there is enough of it.
  const double cells_per_second = elapsed > 0 ? static_cast<double>(progress.cells_done) / elapsed : 0;
  const std::size_t left = progress.cells_total - progress.cells_done;
  if (elapsed >= 10 && cells_per_second > 0) eta = std::max(eta, static_cast<double>(left) / cells_per_second);
  log::set_status_line(render_progress_line(progress, elapsed, rate, eta));
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace qetl::cli
