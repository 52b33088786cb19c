// Log lines: text and JSON rendering, and journald's priority prefixes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "util/log.hpp"

namespace qetl::log {
namespace {

TEST(Log, TextIsTimestampLevelMessageAndKeyValueFields) {
  EXPECT_EQ(render(Level::warning, "cell failed", {{"project", "my app"}, {"segment", "country=US"}, {"n", "3"}},
                   Format::text, "2026-11-24T02:15:00.123Z"),
            "2026-11-24T02:15:00.123Z warning cell failed project=\"my app\" segment=\"country=US\" n=3");
}

TEST(Log, JsonIsOneObjectWithTsLevelMsgAndFields) {
  EXPECT_EQ(render(Level::error, "bad \"quote\"\nline", {{"exit_code", "78"}}, Format::json, "T"),
            R"({"ts":"T","level":"error","msg":"bad \"quote\"\nline","exit_code":"78"})");
}

TEST(Log, LinesStayOneLineOfValidUtf8WhateverTheyCarry) {
  const std::string outside = "Acc\xE8s refus\xE9\r\nnext line \x1b[31m";
  const std::string text = render(Level::warning, outside, {{"error", outside}}, Format::text, "T");
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("Acc\xEF\xBF\xBDs"), std::string::npos) << text;
  const std::string json = render(Level::warning, outside, {{"error", outside}}, Format::json, "T");
  EXPECT_EQ(json.find('\n'), std::string::npos) << json;
  EXPECT_EQ(json.find('\xE8'), std::string::npos) << json;
  EXPECT_NE(json.find("\\u001B[31m"), std::string::npos) << json;
}

TEST(Log, JournaldPrioritiesFollowSyslog) {
  EXPECT_EQ(journald_prefix(Level::debug), "<7>");
  EXPECT_EQ(journald_prefix(Level::info), "<6>");
  EXPECT_EQ(journald_prefix(Level::warning), "<4>");
  EXPECT_EQ(journald_prefix(Level::error), "<3>");
}

TEST(Log, StderrIsTheJournalOnlyWhenDeviceAndInodeMatch) {
  struct stat st {};
  ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  EXPECT_TRUE(stderr_is_journal());
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  ::setenv("JOURNAL_STREAM", other.c_str(), 1);
  EXPECT_FALSE(stderr_is_journal());
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(stderr_is_journal());
}

}  // namespace
}  // namespace qetl::log
