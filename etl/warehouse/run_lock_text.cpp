#include "warehouse/run_lock_text.hpp"

#include <unistd.h>

#include <algorithm>

namespace qetl {

LockHolder this_process_holder(UnixSeconds started_at) {
  char buf[256] = {0};
  LockHolder me;
  me.host = ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "unknown";
  me.pid = static_cast<std::int64_t>(::getpid());
  me.started_at = started_at;
  return me;
}

std::vector<std::string> lock_order(std::vector<std::string> projects) {
  std::sort(projects.begin(), projects.end());
  projects.erase(std::unique(projects.begin(), projects.end()), projects.end());
  return projects;
}

std::string run_lock_name(const std::string& shard, const std::string& project) { return shard + ":" + project; }

std::optional<RunLockName> parse_run_lock_name(const std::string& name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return RunLockName{name.substr(0, colon), name.substr(colon + 1)};
}

std::string locked_message(const std::string& project, const std::string& shard,
                           const std::optional<LockHolder>& holder) {
  std::string m = "another run holds the lock for project \"" + project + "\"";
  if (shard != "all") m += " shard " + shard;
  if (holder) {
    m += " (host " + holder->host + ", pid " + std::to_string(holder->pid) + ", started " +
         format_iso8601(holder->started_at) + ")";
  } else {
    m += " (a run that is just starting: its host and pid are not recorded yet)";
  }
  return m;
}

}  // namespace qetl
