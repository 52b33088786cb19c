#pragma once
// The command line as a pure function: argv -> Options. No I/O, so every form is unit-tested.
#include <optional>
#include <string>
#include <vector>

#include "util/log.hpp"

namespace qetl::cli {

enum class Command { run, plan, migrate, check, version, help };

inline constexpr const char* kDefaultConfigPath = "/etc/qonversion-etl/config.toml";

struct Options {
  Command command = Command::help;
  std::string config_path = kDefaultConfigPath;
  std::optional<std::string> snapshot;  // --snapshot, as typed
  bool resume = false;
  bool dry_run = false;
  bool rebuild = false;  // migrate --rebuild
  std::optional<std::string> shard;  // "K/N", validated by the runner
  std::optional<std::string> metrics_file;
  log::Format log_format = log::Format::text;
  log::Level log_level = log::Level::info;
  std::string help_text;  // for Command::help: the text to print
};

// args excludes the program name. env_config is $QONVERSION_ETL_CONFIG when set.
// Throws UsageError (exit 64) for anything it cannot understand.
Options parse_options(const std::vector<std::string>& args, const std::optional<std::string>& env_config);

// The --log-format the arguments ask for, found without parsing them properly: errors in the
// command line itself are reported in the format the user asked for (JSON stays JSON).
log::Format requested_log_format(const std::vector<std::string>& args);

// The top-level --help text.
std::string usage_text();

}  // namespace qetl::cli
