#include "warehouse/sqlite_run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

#include "util/errors.hpp"
#include "util/text.hpp"
#include "warehouse/run_lock_text.hpp"
#include "warehouse/shard_overlap.hpp"

namespace qetl {
namespace {

constexpr const char* kLockInfix = ".run-lock.";
constexpr const char* kMutexInfix = ".run-lock-mutex.";

// File name parts: letters, digits and a few safe characters as they are, every other byte as
// %XX ("1/2" -> "1%2F2", "my app" -> "my%20app"), so distinct names give distinct files.
std::string project_part(const std::string& project) { return percent_encode(project, "._-"); }
// No '.' in a shard's part: the first '.' after the infix ends it.
std::string shard_part(const std::string& shard) { return percent_encode(shard, "_-"); }

std::optional<std::string> decode(const std::string& part) {
  std::string out;
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out += part[i];
      continue;
    }
    if (i + 2 >= part.size() || !std::isxdigit(static_cast<unsigned char>(part[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(part[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(part.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return out;
}

std::string holder_text(const LockHolder& h) {
  return "host=" + h.host + "\npid=" + std::to_string(h.pid) + "\nstarted_at=" + std::to_string(h.started_at) + "\n";
}

std::optional<LockHolder> parse_holder(const std::string& text) {
  LockHolder h;
  bool host = false, pid = false, started = false;
  std::istringstream lines(text);
  std::string line;
  try {
    while (std::getline(lines, line)) {
      const std::size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "host") { h.host = value; host = true; }
      if (key == "pid") { h.pid = std::stoll(value); pid = true; }
      if (key == "started_at") { h.started_at = std::stoll(value); started = true; }
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!host || !pid || !started) return std::nullopt;
  return h;
}

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  off_t at = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  return text;
}

// An open file descriptor, closed (and so unlocked) on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Fd open_file(const std::string& file, int flags) {
  Fd fd(::open(file.c_str(), flags | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw WarehouseError("cannot open the run lock file " + file + ": " + std::strerror(errno));
  return fd;
}

// Holds flock()s on lock files; the kernel drops them when the descriptors close, which it
// also does when the process dies. The files stay (deleting a lock file races with a run
// that has just opened it); release empties them first so that no stale holder is read.
class FileRunLock final : public RunLock {
 public:
  FileRunLock() = default;
  FileRunLock(const FileRunLock&) = delete;
  FileRunLock& operator=(const FileRunLock&) = delete;
  ~FileRunLock() override {
    for (const int fd : fds_) {
      const int rc = ::ftruncate(fd, 0);  // failing only leaves details a next holder overwrites
      (void)rc;
      ::close(fd);
    }
  }
  void add(Fd fd) { fds_.push_back(fd.release()); }

 private:
  std::vector<int> fds_;
};

struct LiveHolder {
  std::string shard;
  std::optional<LockHolder> holder;
};

// Every (shard) lock file of `project` whose flock someone holds (this process included: flock
// locks belong to the open file, so a second open conflicts with the first). Called under the
// project's mutex, so nobody takes or tests these files meanwhile.
std::vector<LiveHolder> live_holders(const std::filesystem::path& db, const std::string& project) {
  namespace fs = std::filesystem;
  const std::string prefix = db.filename().string() + kLockInfix;
  const std::string suffix = "." + project_part(project);
  const fs::path dir = db.has_parent_path() ? db.parent_path() : fs::path(".");
  std::vector<LiveHolder> live;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string part = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    const std::optional<std::string> shard = decode(part);
    if (part.find('.') != std::string::npos || !shard) continue;  // another project's file
    Fd fd(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) continue;  // nobody holds it: closing unlocks
    if (errno != EWOULDBLOCK) throw WarehouseError("cannot test the run lock file " + entry.path().string() + ": " + std::strerror(errno));
    live.push_back({*shard, parse_holder(read_all(fd.get()))});
  }
  if (ec) throw WarehouseError("cannot list the run lock files in " + dir.string() + ": " + ec.message());
  return live;
}

}  // namespace

std::unique_ptr<RunLock> take_sqlite_run_lock(const std::string& db_path, const std::vector<std::string>& projects,
                                              const std::string& shard, const LockHolder& me) {
  auto lock = std::make_unique<FileRunLock>();  // releases what was taken if we throw
  for (const std::string& project : lock_order(projects)) {
    // Blocking, but only behind another run's few file operations for this project.
    const std::string mutex_file = db_path + kMutexInfix + project_part(project);
    const Fd mutex = open_file(mutex_file, O_RDWR | O_CREAT);
    if (::flock(mutex.get(), LOCK_EX) != 0) {
      throw WarehouseError("cannot lock " + mutex_file + ": " + std::strerror(errno));
    }
    for (const LiveHolder& other : live_holders(db_path, project)) {
      if (shards_overlap(other.shard, shard)) throw LockedError(locked_message(project, other.shard, other.holder));
    }
    const std::string file = db_path + kLockInfix + shard_part(shard) + "." + project_part(project);
    Fd fd = open_file(file, O_RDWR | O_CREAT);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      // Only a run that ignores the mutex (an older version) can have taken it since the scan.
      const int err = errno;
      if (err == EWOULDBLOCK) throw LockedError(locked_message(project, shard, parse_holder(read_all(fd.get()))));
      throw WarehouseError("cannot lock the run lock file " + file + ": " + std::strerror(err));
    }
    const std::string text = holder_text(me);
    if (::ftruncate(fd.get(), 0) != 0 ||
        ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      throw WarehouseError("cannot write the run lock file " + file + ": " + std::strerror(errno));
    }
    lock->add(std::move(fd));
  }
  return lock;
}

}  // namespace qetl
