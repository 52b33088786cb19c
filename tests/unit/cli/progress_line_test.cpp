// The progress line's text and its ETA from the pacing.
#include <gtest/gtest.h>

#include "cli/progress_line.hpp"

namespace qetl::cli {
namespace {

RunProgress progress(std::size_t total, std::size_t done, std::map<std::size_t, std::size_t> left) {
  RunProgress p;
  p.cells_total = total;
  p.cells_done = done;
  p.cells_left_by_project = std::move(left);
  return p;
}

TEST(ProgressLine, EtaFollowsThePacingOfTheSlowestProject) {
  Config config;
  config.api.requests_per_minute = 30;
  // 2,000 cells at 30 a minute: over an hour, whatever the first seconds looked like.
  EXPECT_DOUBLE_EQ(pacing_eta_seconds(config, progress(2000, 0, {{0, 2000}})), 4000.0);
  // Projects run side by side: the one with the most cells left decides.
  EXPECT_DOUBLE_EQ(pacing_eta_seconds(config, progress(300, 100, {{0, 50}, {1, 150}})), 300.0);
  EXPECT_DOUBLE_EQ(pacing_eta_seconds(config, progress(10, 10, {{0, 0}})), 0.0);
}

TEST(ProgressLine, ShowsDoneTotalFailedRetriesRateElapsedAndEta) {
  RunProgress p = progress(2000, 412, {{0, 1588}});
  p.cells_failed = 3;
  p.retries = 5;
  EXPECT_EQ(render_progress_line(p, 822, 0.5, 3176),
            "412/2000 cells (20%)  3 failed  5 retries  0.50 req/s  elapsed 13m 42s  ETA 52m 56s");
  EXPECT_EQ(render_progress_line(progress(0, 0, {}), 0, 0, 0),
            "0/0 cells (100%)  0 failed  0 retries  0.00 req/s  elapsed 0s  ETA 0s");
}

}  // namespace
}  // namespace qetl::cli
