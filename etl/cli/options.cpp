#include "cli/options.hpp"

#include <cxxopts.hpp>

#include "runner/shard.hpp"
#include "util/errors.hpp"

namespace qetl::cli {
namespace {

const char* kUsage =
    "qonversion-etl: snapshot Qonversion customer metrics into SQLite or PostgreSQL\n"
    "\n"
    "Usage:\n"
    "  qonversion-etl run     [-c FILE] [--snapshot TIME] [--resume] [--shard K/N] [--dry-run]\n"
    "                         [--metrics-file PATH] [--log-format text|json] [-q|-v]\n"
    "  qonversion-etl plan    [-c FILE] [--snapshot TIME] [--shard K/N]\n"
    "  qonversion-etl migrate [-c FILE] [--rebuild]\n"
    "  qonversion-etl check   [-c FILE] [--snapshot TIME]\n"
    "  qonversion-etl --version | --help\n"
    "\n"
    "Commands:\n"
    "  run       fetch every cell of the matrix and upsert one row per cell\n"
    "  plan      print the cells and their request URLs (key masked); fetch nothing\n"
    "  migrate   create or upgrade the warehouse schema\n"
    "  check     run the data checks again on the stored rows of a snapshot\n"
    "\n"
    "Run `qonversion-etl <command> --help` for the options of a command.\n";

cxxopts::Options command_options(Command command, const std::string& name) {
  // Every option says its default (issue: `--help` of each subcommand lists them all).
  cxxopts::Options o("qonversion-etl " + name);
  o.add_options()("c,config",
                  "config file (default: $QONVERSION_ETL_CONFIG, then " + std::string(kDefaultConfigPath) + ")",
                  cxxopts::value<std::string>())("h,help", "show this help and exit")(
      "log-format", "log lines as text (timestamp level message key=value) or json (one object per line)",
      cxxopts::value<std::string>()->default_value("text"))(
      "q,quiet", "warnings and errors only, no progress line (default: info and up)")(
      "v,verbose", "also one line per request: masked URL, status, attempt, duration (default: off)");
  if (command == Command::check) {
    o.add_options()("snapshot",
                    "snapshot to check, ISO-8601 date or date-time in UTC (default: the newest stored snapshot)",
                    cxxopts::value<std::string>());
  }
  if (command == Command::migrate) {
    o.add_options()("rebuild",
                    "also recompute every table derived from customer_metrics (the trend views' helpers) from "
                    "scratch (default: off; run and migrate keep them up to date)");
  }
  if (command == Command::run || command == Command::plan) {
    o.add_options()("snapshot",
                    "snapshot time, ISO-8601 date or date-time in UTC (default: now, truncated to snapshot_grain)",
                    cxxopts::value<std::string>())(
        "shard", "take the K-th of N deterministic slices of the cells, e.g. 2/4 (default: all cells)",
        cxxopts::value<std::string>());
  }
  if (command == Command::run) {
    o.add_options()("resume", "fetch only the cells with no row yet for this snapshot (default: fetch every cell)")(
        "dry-run",
        "validate, connect to the warehouse, report pending migrations and the plan; send no request, write "
        "nothing (default: off)")(
        "metrics-file",
        "write Prometheus textfile metrics here at the end of the run (default: metrics_file from the config, "
        "else none)",
        cxxopts::value<std::string>());
  }
  return o;
}

}  // namespace

std::string usage_text() { return kUsage; }

log::Format requested_log_format(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--log-format=json" || (args[i] == "--log-format" && i + 1 < args.size() && args[i + 1] == "json")) {
      return log::Format::json;
    }
  }
  return log::Format::text;
}

Options parse_options(const std::vector<std::string>& args, const std::optional<std::string>& env_config) {
  Options out;
  if (env_config && !env_config->empty()) out.config_path = *env_config;
  if (args.empty()) throw UsageError("no command given; see qonversion-etl --help");
  const std::string& first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    out.command = Command::help;
    out.help_text = kUsage;
    return out;
  }
  if (first == "--version" || first == "-V") {
    out.command = Command::version;
    return out;
  }
  if (first == "run") {
    out.command = Command::run;
  } else if (first == "plan") {
    out.command = Command::plan;
  } else if (first == "migrate") {
    out.command = Command::migrate;
  } else if (first == "check") {
    out.command = Command::check;
  } else {
    throw UsageError("unknown command '" + first + "'; expected run, plan, migrate or check (see --help)");
  }

  cxxopts::Options spec = command_options(out.command, first);
  std::vector<const char*> argv{"qonversion-etl"};
  for (std::size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  try {
    const cxxopts::ParseResult r = spec.parse(static_cast<int>(argv.size()), argv.data());
    if (!r.unmatched().empty()) throw UsageError("unexpected argument '" + r.unmatched().front() + "' (see " + first + " --help)");
    if (r.count("help") != 0) {
      out.command = Command::help;
      out.help_text = spec.help();
      return out;
    }
    if (r.count("config") != 0) out.config_path = r["config"].as<std::string>();
    const std::string format = r["log-format"].as<std::string>();
    if (format == "json") {
      out.log_format = log::Format::json;
    } else if (format != "text") {
      throw UsageError("--log-format takes text or json, not '" + format + "'");
    }
    if (r.count("quiet") != 0 && r.count("verbose") != 0) throw UsageError("-q and -v exclude each other");
    if (r.count("quiet") != 0) out.log_level = log::Level::warning;
    if (r.count("verbose") != 0) out.log_level = log::Level::debug;
    if (out.command == Command::migrate) out.rebuild = r.count("rebuild") != 0;
    if (out.command == Command::check && r.count("snapshot") != 0) out.snapshot = r["snapshot"].as<std::string>();
    if (out.command == Command::run || out.command == Command::plan) {
      if (r.count("snapshot") != 0) out.snapshot = r["snapshot"].as<std::string>();
      if (r.count("shard") != 0) {
        out.shard = r["shard"].as<std::string>();
        parse_shard(*out.shard);  // a malformed K/N is a command-line error, found before the config is read
      }
    }
    if (out.command == Command::run) {
      out.resume = r.count("resume") != 0;
      out.dry_run = r.count("dry-run") != 0;
      if (r.count("metrics-file") != 0) out.metrics_file = r["metrics-file"].as<std::string>();
    }
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see qonversion-etl " + first + " --help)");
  }
  return out;
}

}  // namespace qetl::cli
