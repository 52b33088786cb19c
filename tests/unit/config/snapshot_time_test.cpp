// resolve_snapshot: --snapshot or now, truncated to the grain; a future or pre-2000 snapshot is a
// usage error (exit 64) because it would become every series' "latest" row or is a typo.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/snapshot_time.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {
using ::testing::StartsWith;

UnixSeconds t(const char* iso) { return parse_utc_timestamp(iso); }

const UnixSeconds kNow = t("2024-03-01T13:45:10Z");

struct Outcome {
  std::string message;
  ExitCode code = ExitCode::ok;
};

Outcome refusal(const std::string& arg, SnapshotGrain grain = SnapshotGrain::day) {
  try {
    resolve_snapshot(arg, kNow, grain);
  } catch (const EtlError& e) {
    return {e.what(), e.code()};
  }
  return {"<no error>", ExitCode::ok};
}

TEST(SnapshotTime, NowTruncatedToTheGrain) {
  EXPECT_EQ(resolve_snapshot(std::nullopt, kNow, SnapshotGrain::day), t("2024-03-01"));
  EXPECT_EQ(resolve_snapshot(std::nullopt, kNow, SnapshotGrain::hour), t("2024-03-01T13:00"));
}

TEST(SnapshotTime, ArgumentTruncatedToTheGrain) {
  EXPECT_EQ(resolve_snapshot(std::string("2024-02-20T15:30:00Z"), kNow, SnapshotGrain::day), t("2024-02-20"));
  EXPECT_EQ(resolve_snapshot(std::string("2024-02-20T15:30:00Z"), kNow, SnapshotGrain::hour), t("2024-02-20T15:00"));
  EXPECT_EQ(resolve_snapshot(std::string("2000-01-01"), kNow, SnapshotGrain::day), t("2000-01-01"));
}

TEST(SnapshotTime, OneGrainAheadIsAllowed) {
  EXPECT_EQ(resolve_snapshot(std::string("2024-03-02T23:59:59Z"), kNow, SnapshotGrain::day), t("2024-03-02"));
  EXPECT_EQ(resolve_snapshot(std::string("2024-03-01T14:59:59Z"), kNow, SnapshotGrain::hour), t("2024-03-01T14:00"));
}

TEST(SnapshotTime, FurtherInTheFutureIsAUsageError) {
  const Outcome far = refusal("2062-11-20");
  EXPECT_EQ(far.message,
            "--snapshot 2062-11-20: later than 2024-03-02T00:00:00Z, the day after the current one: a future snapshot "
            "would become every series' latest row");
  EXPECT_EQ(far.code, ExitCode::usage);
  EXPECT_EQ(refusal("2024-03-03").message,
            "--snapshot 2024-03-03: later than 2024-03-02T00:00:00Z, the day after the current one: a future snapshot "
            "would become every series' latest row");
  const Outcome hour = refusal("2024-03-01T15:00", SnapshotGrain::hour);
  EXPECT_EQ(hour.message,
            "--snapshot 2024-03-01T15:00: later than 2024-03-01T14:00:00Z, the hour after the current one: a future "
            "snapshot would become every series' latest row");
  EXPECT_EQ(hour.code, ExitCode::usage);
}

TEST(SnapshotTime, Before2000IsAUsageError) {
  const Outcome ancient = refusal("0001-01-01");
  EXPECT_EQ(ancient.message, "--snapshot 0001-01-01: earlier than 2000-01-01T00:00:00Z, the earliest snapshot the job takes");
  EXPECT_EQ(ancient.code, ExitCode::usage);
  EXPECT_EQ(refusal("1999-12-31T23:59:59Z", SnapshotGrain::hour).message,
            "--snapshot 1999-12-31T23:59:59Z: earlier than 2000-01-01T00:00:00Z, the earliest snapshot the job takes");
}

TEST(SnapshotTime, NotATimeIsAUsageError) {
  const Outcome bad = refusal("yesterday");
  EXPECT_THAT(bad.message, StartsWith("--snapshot yesterday: not an ISO-8601 UTC date or date-time"));
  EXPECT_EQ(bad.code, ExitCode::usage);
  EXPECT_EQ(refusal("2023-02-29").code, ExitCode::usage);
  EXPECT_EQ(refusal("").code, ExitCode::usage);
  const Outcome forged = refusal("2024-03-01\nerror something else");
  EXPECT_THAT(forged.message, StartsWith("--snapshot \"2024-03-01\\x0Aerror something else\": not an ISO-8601"));
  EXPECT_EQ(forged.message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace qetl
