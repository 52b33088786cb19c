// The metrics file is written through a temp file nobody can predict or redirect, and a failed
// write leaves nothing behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/temp_dir.hpp"
#include "runner/metrics_file.hpp"

namespace qetl {
namespace {

RunSummary succeeded_run() {
  RunSummary s;
  s.record.started_at = 1795000000;
  s.record.finished_at = 1795000060;
  s.record.status = "succeeded";
  return s;
}

std::size_t files_in(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(MetricsFile, APlantedSymlinkAtTheOldPredictableTempNameIsNeverFollowed) {
  test::TempDir dir;
  const std::string path = dir.file("qonversion-etl.prom");
  const std::string victim = dir.file("victim");
  { std::ofstream(victim) << "precious\n"; }
  // 0.2.0 wrote to <path>.tmp.<pid>: a symlink there redirected the write.
  std::filesystem::create_symlink(victim, path + ".tmp." + std::to_string(::getpid()));
  write_run_metrics(path, succeeded_run());
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious\n");
  std::ifstream written(path);
  std::string metrics((std::istreambuf_iterator<char>(written)), std::istreambuf_iterator<char>());
  EXPECT_NE(metrics.find("qonversion_etl_last_run_status{status=\"succeeded\"} 1"), std::string::npos);
}

TEST(MetricsFile, AFailedWriteLeavesNoTempFileBehind) {
  test::TempDir dir;
  const std::string path = dir.file("metrics.prom");
  std::filesystem::create_directory(path);  // rename() onto a directory fails
  EXPECT_THROW(write_run_metrics(path, succeeded_run()), EtlError);
  EXPECT_EQ(files_in(dir.path()), 1u) << "only the directory standing in the way";
}

}  // namespace
}  // namespace qetl
