#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "cli/options.hpp"
#include "runner/shard.hpp"
#include "util/errors.hpp"

namespace qetl::cli {
namespace {

Options parse(std::vector<std::string> args, std::optional<std::string> env = std::nullopt) {
  return parse_options(args, env);
}

TEST(Options, RunWithEverything) {
  const Options o = parse({"run", "-c", "/tmp/x.toml", "--snapshot", "2026-01-02", "--resume", "--shard", "2/4",
                           "--metrics-file", "/tmp/m.prom", "--log-format", "json", "-v"});
  EXPECT_EQ(o.command, Command::run);
  EXPECT_EQ(o.config_path, "/tmp/x.toml");
  EXPECT_EQ(o.snapshot, "2026-01-02");
  EXPECT_TRUE(o.resume);
  EXPECT_FALSE(o.dry_run);
  EXPECT_EQ(o.shard, "2/4");
  EXPECT_EQ(o.metrics_file, "/tmp/m.prom");
  EXPECT_EQ(o.log_format, log::Format::json);
  EXPECT_EQ(o.log_level, log::Level::debug);
}

TEST(Options, ConfigPathDefaultsToEnvironmentThenEtc) {
  EXPECT_EQ(parse({"plan"}).config_path, "/etc/qonversion-etl/config.toml");
  EXPECT_EQ(parse({"plan"}, std::string("/srv/c.toml")).config_path, "/srv/c.toml");
  EXPECT_EQ(parse({"plan", "--config=/a.toml"}, std::string("/srv/c.toml")).config_path, "/a.toml");
}

TEST(Options, VersionAndHelp) {
  EXPECT_EQ(parse({"--version"}).command, Command::version);
  EXPECT_EQ(parse({"--help"}).command, Command::help);
  const Options h = parse({"run", "--help"});
  EXPECT_EQ(h.command, Command::help);
  EXPECT_NE(h.help_text.find("--resume"), std::string::npos);
  EXPECT_NE(h.help_text.find("--dry-run"), std::string::npos);
}

TEST(Options, BadCommandLinesAreUsageErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"fetch"}, {"run", "--bogus"}, {"plan", "--resume"}, {"migrate", "--snapshot", "2026-01-01"},
           {"run", "extra"}, {"run", "--log-format", "xml"}, {"run", "-q", "-v"}, {"run", "--snapshot"},
           {"run", "--rebuild"}, {"check", "--resume"}, {"check", "--shard", "1/2"}, {"migrate", "--dry-run"}}) {
    try {
      parse(args);
      ADD_FAILURE() << "accepted: " << ::testing::PrintToString(args);
    } catch (const UsageError& e) {
      EXPECT_EQ(e.code(), ExitCode::usage);
    }
  }
}

TEST(Options, MigrateRebuildAndCheckWithASnapshot) {
  const Options rebuild = parse({"migrate", "--rebuild", "-c", "x.toml"});
  EXPECT_EQ(rebuild.command, Command::migrate);
  EXPECT_TRUE(rebuild.rebuild);
  EXPECT_FALSE(parse({"migrate"}).rebuild);
  const Options check = parse({"check", "--snapshot", "2026-11-20", "-c", "x.toml"});
  EXPECT_EQ(check.command, Command::check);
  EXPECT_EQ(check.snapshot, "2026-11-20");
  EXPECT_EQ(check.config_path, "x.toml");
  EXPECT_FALSE(parse({"check"}).snapshot);
}

TEST(Shard, ParsesKOfN) {
  EXPECT_EQ(parse_shard("2/4").index, 2);
  EXPECT_EQ(parse_shard("2/4").count, 4);
  for (const char* bad : {"0/4", "5/4", "2", "a/b", "2/0", "1/2/3", ""}) {
    EXPECT_THROW(parse_shard(bad), UsageError) << bad;
  }
}

TEST(Shard, EveryCellInExactlyOneShard) {
  std::vector<Cell> cells;
  for (int i = 0; i < 500; ++i) {
    Cell c;
    c.project = i % 2 ? "a" : "b";
    c.window_name = "w";
    c.window_from = i;
    c.segment = "country=C" + std::to_string(i % 37);
    cells.push_back(c);
  }
  std::size_t total = 0;
  std::multiset<std::uint64_t> seen;
  for (int k = 1; k <= 3; ++k) {
    const auto part = select_shard(cells, Shard{k, 3});
    EXPECT_GT(part.size(), 100u);  // roughly a third each
    total += part.size();
    for (const Cell& c : part) seen.insert(cell_identity_hash(c));
  }
  EXPECT_EQ(total, cells.size());
  for (const Cell& c : cells) EXPECT_EQ(seen.count(cell_identity_hash(c)), 1u);
}

// `<command> --help` lists every option of that command, each with its default.
TEST(Options, EachCommandsHelpListsEveryOptionWithItsDefault) {
  const std::map<std::string, std::vector<std::string>> options = {
      {"run", {"--config", "--help", "--log-format", "--quiet", "--verbose", "--snapshot", "--shard", "--resume",
               "--dry-run", "--metrics-file"}},
      {"plan", {"--config", "--help", "--log-format", "--quiet", "--verbose", "--snapshot", "--shard"}},
      {"migrate", {"--config", "--help", "--log-format", "--quiet", "--verbose"}}};
  for (const auto& [command, names] : options) {
    const std::string help = parse({command, "--help"}).help_text;
    for (const std::string& name : names) {
      const std::size_t at = help.find(name);
      ASSERT_NE(at, std::string::npos) << command << " " << name << "\n" << help;
      if (name == "--help") continue;  // an action, not a setting
      // The option's description runs to the next option line ("  -x, --" or "      --").
      std::size_t end = help.find("\n  -", at);
      const std::size_t next_long = help.find("\n      --", at);
      end = std::min(end, next_long);
      const std::string entry = help.substr(at, end == std::string::npos ? std::string::npos : end - at);
      EXPECT_NE(entry.find("default"), std::string::npos) << command << " " << name << ": " << entry;
    }
  }
}

// Errors in the command line itself come out in the format asked for.
TEST(Options, RequestedLogFormatIsFoundWithoutParsing) {
  EXPECT_EQ(requested_log_format({"run", "--log-format", "json", "--bogus"}), log::Format::json);
  EXPECT_EQ(requested_log_format({"run", "--bogus", "--log-format=json"}), log::Format::json);
  EXPECT_EQ(requested_log_format({"run", "--log-format", "text"}), log::Format::text);
  EXPECT_EQ(requested_log_format({"run", "--log-format"}), log::Format::text);
  EXPECT_EQ(requested_log_format({}), log::Format::text);
}

}  // namespace
}  // namespace qetl::cli
