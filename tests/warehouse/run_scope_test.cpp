// The pure rules behind the run lock and stale-run closing: which shards can share a cell, and
// which `running` rows a run's locks cover.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "warehouse/run_lock_text.hpp"
#include "warehouse/run_scope.hpp"
#include "warehouse/shard_overlap.hpp"

namespace qetl {
namespace {

TEST(ShardsOverlap, UnshardedOverlapsEverything) {
  for (const char* s : {"all", "1/1", "1/2", "2/2", "7/9"}) {
    EXPECT_TRUE(shards_overlap("all", s)) << s;
    EXPECT_TRUE(shards_overlap(s, "all")) << s;
  }
}

TEST(ShardsOverlap, SameCountOverlapsOnlyForTheSameSlice) {
  EXPECT_FALSE(shards_overlap("1/3", "2/3"));
  EXPECT_FALSE(shards_overlap("2/3", "3/3"));
  EXPECT_FALSE(shards_overlap("1/2", "2/2"));
  EXPECT_TRUE(shards_overlap("2/3", "2/3"));
  EXPECT_TRUE(shards_overlap("01/3", "1/3")) << "the same slice however it is written";
}

TEST(ShardsOverlap, DifferentCountsAlwaysOverlap) {
  EXPECT_TRUE(shards_overlap("1/2", "1/3"));
  EXPECT_TRUE(shards_overlap("2/4", "1/2"));
  EXPECT_TRUE(shards_overlap("1/2", "2/4"));
  EXPECT_TRUE(shards_overlap("3/3", "1/1"));
}

TEST(ShardsOverlap, AnythingElseOverlapsEverythingRatherThanLetTwoRunsShareACell) {
  for (const char* odd : {"", "0/2", "3/2", "1/0", "x/2", "1/", "/2", "1/2/3", "-1/2", "1 /2", "1/99999999999"}) {
    EXPECT_TRUE(shards_overlap(odd, "1/2")) << '"' << odd << '"';
    EXPECT_TRUE(shards_overlap("2/2", odd)) << '"' << odd << '"';
  }
}

TEST(ProjectsJson, RoundTripsAnyNames) {
  const std::vector<std::string> names = {"alpha", "my \"app\"", "back\\slash", "tab\there", "ünï", ""};
  const std::string json = projects_json(names);
  EXPECT_EQ(json, R"(["alpha","my \"app\"","back\\slash","tab\there","ünï",""])");
  EXPECT_EQ(parse_projects_json(json), names);
  EXPECT_EQ(projects_json({}), "[]");
  EXPECT_EQ(parse_projects_json("[]"), std::vector<std::string>{});
  EXPECT_EQ(parse_projects_json("[1]"), std::nullopt);
  EXPECT_EQ(parse_projects_json("{\"a\":1}"), std::nullopt);
  EXPECT_EQ(parse_projects_json("[\"a\""), std::nullopt);
}

TEST(StaleRowInScope, NeedsAProjectInCommonAndOverlappingShards) {
  const std::vector<std::string> mine = {"alpha", "beta"};
  EXPECT_TRUE(stale_row_in_scope(R"(["alpha"])", "all", mine, "1/3"));
  EXPECT_TRUE(stale_row_in_scope(R"(["gamma","beta"])", "1/3", mine, "1/3"));
  EXPECT_TRUE(stale_row_in_scope(R"(["alpha"])", "1/2", mine, "1/3"));
  EXPECT_FALSE(stale_row_in_scope(R"(["alpha"])", "2/3", mine, "1/3"));
  EXPECT_FALSE(stale_row_in_scope(R"(["gamma"])", "all", mine, "all"));
  EXPECT_FALSE(stale_row_in_scope("[]", "all", mine, "all")) << "unknown scope: never closed";
  EXPECT_FALSE(stale_row_in_scope("not json", "all", mine, "all"));
}

TEST(StaleRunMessage, NamesTheRunThatFoundIt) {
  EXPECT_EQ(stale_run_message("20261124T030000Z-ab12"),
            "process gone: found still running by run 20261124T030000Z-ab12");
}

TEST(RunLockName, SplitsAtTheFirstColon) {
  EXPECT_EQ(run_lock_name("1/2", "a:b"), "1/2:a:b");
  const auto parsed = parse_run_lock_name("1/2:a:b");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->shard, "1/2");
  EXPECT_EQ(parsed->project, "a:b");
  EXPECT_EQ(parse_run_lock_name("nocolon"), std::nullopt);
}

}  // namespace
}  // namespace qetl
