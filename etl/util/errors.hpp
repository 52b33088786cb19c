#pragma once
// Fatal errors carry their sysexits code and are caught once, in cli::run.
// Expected per-cell failures are values (see api/fetch_result.hpp), never exceptions.
#include <stdexcept>
#include <string>

namespace qetl {

// SPEC "Exit codes": the only table of process exit statuses.
enum class ExitCode : int {
  ok = 0,
  cells_failed = 1,
  usage = 64,
  data_checks_failed = 65,
  api_unreachable = 69,
  internal = 70,
  warehouse = 74,
  locked = 75,
  api_key_rejected = 77,
  config = 78,
  interrupted_sigint = 130,
  interrupted_sigterm = 143,
};

class EtlError : public std::runtime_error {
 public:
  EtlError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : EtlError {
  explicit UsageError(const std::string& m) : EtlError(ExitCode::usage, m) {}
};
struct ConfigError : EtlError {
  explicit ConfigError(const std::string& m) : EtlError(ExitCode::config, m) {}
};
struct WarehouseError : EtlError {
  explicit WarehouseError(const std::string& m) : EtlError(ExitCode::warehouse, m) {}
};

}  // namespace qetl
