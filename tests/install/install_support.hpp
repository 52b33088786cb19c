#pragma once
// What the install tests share: `cmake --install` of this build into a temporary tree, unit
// files read the way systemd reads them, and a service's ExecStart= run the way systemd would
// start it (clean environment, UMask=, StateDirectory=, LoadCredential=), without systemd.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/process.hpp"
#include "common/temp_dir.hpp"

// Given by tests/install/install_tests.cmake.
#ifndef QETL_CMAKE_COMMAND
#define QETL_CMAKE_COMMAND "cmake"
#endif
#ifndef QETL_BUILD_DIR
#define QETL_BUILD_DIR "."
#endif
#ifndef QETL_SYSTEMD_ANALYZE
#define QETL_SYSTEMD_ANALYZE ""
#endif

extern char** environ;

namespace qetl::test {

namespace fs = std::filesystem;

// The four units the project ships, as named in systemd/.
inline const std::vector<std::string> kUnitFiles = {"qonversion-etl.service", "qonversion-etl.timer",
                                                    "qonversion-etl@.service", "qonversion-etl@.timer"};

inline void write_text(const std::string& path, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(fs::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  ::chmod(path.c_str(), mode);
}

inline bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Replaces the one line that starts with `line_start` by `replacement`; throws when there is
// not exactly one, so a config that changed shape fails loudly instead of running unedited.
inline std::string replace_line(const std::string& text, const std::string& line_start, const std::string& replacement) {
  std::istringstream in(text);
  std::string line, out;
  int found = 0;
  while (std::getline(in, line)) {
    if (line.rfind(line_start, 0) == 0) {
      line = replacement;
      ++found;
    }
    out += line + "\n";
  }
  if (found != 1) {
    throw std::runtime_error("expected exactly one line starting with \"" + line_start + "\", found " +
                             std::to_string(found));
  }
  return out;
}

// fork/execve with exactly `env` (no inherited variables), stdin from /dev/null, stdout and
// stderr to files in `scratch`, in `cwd`, under `umask_value`.
inline ProcessResult spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                           const std::string& scratch, const std::string& cwd = "", mode_t umask_value = 0022) {
  static int counter = 0;
  const std::string out_path = scratch + "/spawn." + std::to_string(++counter) + ".out";
  const std::string err_path = out_path + ".err";
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::umask(umask_value);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

// This process's environment without DESTDIR, plus `extra`: for the tools (cmake, systemd-analyze).
inline std::map<std::string, std::string> tool_environment(const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  env.erase("DESTDIR");
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

// `cmake --install <this build> --prefix <prefix>`, with DESTDIR=<destdir> unless empty.
inline ProcessResult cmake_install(const std::string& prefix, const std::string& destdir, const std::string& scratch) {
  std::map<std::string, std::string> extra;
  if (!destdir.empty()) extra["DESTDIR"] = destdir;
  return spawn({QETL_CMAKE_COMMAND, "--install", QETL_BUILD_DIR, "--prefix", prefix}, tool_environment(extra), scratch);
}

inline std::string systemd_analyze() {
  const std::string path = QETL_SYSTEMD_ANALYZE;
  if (path.empty() || ::access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error("systemd-analyze not found when the build was configured (Debian package: systemd; "
                             "scripts/install-deps installs it): the unit checks cannot run");
  }
  return path;
}

inline ProcessResult run_systemd_analyze(const std::vector<std::string>& args, const std::string& scratch,
                                         std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv{systemd_analyze()};
  argv.insert(argv.end(), args.begin(), args.end());
  // Plain output: no pager, no colour, so the text can be checked.
  env.insert({{"SYSTEMD_PAGER", "cat"}, {"SYSTEMD_COLORS", "0"}, {"NO_COLOR", "1"}});
  return spawn(argv, tool_environment(env), scratch);
}

// A unit file as systemd parses it: sections of ordered assignments; '#' and ';' comments;
// a trailing backslash continues the line.
class UnitFile {
 public:
  static UnitFile read(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    UnitFile unit;
    std::string section, line, pending;
    while (std::getline(in, line)) {
      if (!pending.empty()) {
        line = pending + " " + line;
        pending.clear();
      }
      const auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos) continue;
      line = line.substr(first);
      if (line[0] == '#' || line[0] == ';') continue;
      if (line.back() == '\\') {
        pending = line.substr(0, line.size() - 1);
        continue;
      }
      if (line[0] == '[') {
        section = line.substr(1, line.find(']') - 1);
        continue;
      }
      const auto eq = line.find('=');
      if (eq == std::string::npos) throw std::runtime_error(path + ": not an assignment: " + line);
      std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
      const auto v = value.find_first_not_of(" \t");
      value = v == std::string::npos ? "" : value.substr(v);
      unit.entries_[section].emplace_back(key, value);
    }
    return unit;
  }

  // Every value of a list setting, after systemd's rule that an empty assignment clears it.
  std::vector<std::string> all(const std::string& section, const std::string& key) const {
    std::vector<std::string> values;
    const auto s = entries_.find(section);
    if (s == entries_.end()) return values;
    for (const auto& [k, v] : s->second) {
      if (k != key) continue;
      if (v.empty()) {
        values.clear();
      } else {
        values.push_back(v);
      }
    }
    return values;
  }
  // The last value of a single setting, or "" when absent.
  std::string get(const std::string& section, const std::string& key) const {
    const auto values = all(section, key);
    return values.empty() ? "" : values.back();
  }
  std::set<std::string> keys(const std::string& section) const {
    std::set<std::string> out;
    const auto s = entries_.find(section);
    if (s != entries_.end()) {
      for (const auto& kv : s->second) out.insert(kv.first);
    }
    return out;
  }

 private:
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> entries_;
};

// Expands %-specifiers; throws on any this simulation does not know, rather than guessing.
inline std::string expand_specifiers(const std::string& text, const std::map<char, std::string>& specifiers) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 1 >= text.size()) throw std::runtime_error("a lone % in: " + text);
    const char c = text[++i];
    if (c == '%') {
      out += '%';
      continue;
    }
    const auto it = specifiers.find(c);
    if (it == specifiers.end()) throw std::runtime_error(std::string("specifier %") + c + " is not simulated: " + text);
    out += it->second;
  }
  return out;
}

// An ExecStart= command line split into words: whitespace separates, double and single quotes
// group, a backslash escapes the next character. `$VAR` expansion is not simulated: it fails.
inline std::vector<std::string> split_command_line(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == '$') {
      throw std::runtime_error("environment variable expansion in ExecStart= is not simulated: " + line);
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) throw std::runtime_error("unbalanced quote in: " + line);
  if (in_word) words.push_back(word);
  return words;
}

// What systemd would set up to start one service unit, on a pretend host whose /var/lib and
// /run/credentials live under `host_root`.
struct ServiceStart {
  std::string unit_name;  // qonversion-etl.service, qonversion-etl@myapp.service
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  mode_t umask_value = 0022;
  std::vector<std::string> state_directories;                     // absolute, on the pretend host
  std::vector<std::pair<std::string, std::string>> credentials;   // (name, source file)
  std::string credentials_directory;
  std::string restart;
  std::set<int> restart_prevent_exit_status;

  // Creates the state directories, copies the credentials (as systemd does, owner-only), then
  // runs argv with only `env`, from /, under the unit's UMask=.
  ProcessResult start(const std::string& scratch) const {
    // Without StateDirectory= the job's default SQLite file is the host's own
    // /var/lib/qonversion-etl/metrics.sqlite: never write there from a test.
    if (state_directories.empty()) throw std::runtime_error(unit_name + " has no StateDirectory=: not started");
    for (const auto& dir : state_directories) {
      fs::create_directories(dir);
      ::chmod(dir.c_str(), 0700);
    }
    if (!credentials.empty()) {
      // Fresh on every start, as systemd makes it.
      if (fs::exists(credentials_directory)) {
        ::chmod(credentials_directory.c_str(), 0700);
        fs::remove_all(credentials_directory);
      }
      fs::create_directories(credentials_directory);
      for (const auto& [name, source] : credentials) {
        const std::string target = credentials_directory + "/" + name;
        fs::copy_file(source, target);
        ::chmod(target.c_str(), 0400);
      }
      ::chmod(credentials_directory.c_str(), 0500);
    }
    return spawn(argv, env, scratch, "/", umask_value);
  }
};

// Reads the [Service] section of `unit` the way systemd would for `unit_name` (an instance name
// for a template). Settings that would change how the command runs and that this simulation
// does not model make it throw, so the test cannot pass by ignoring them.
inline ServiceStart service_start(const UnitFile& unit, const std::string& unit_name, const std::string& host_root) {
  static const std::set<std::string> unmodelled = {
      "EnvironmentFile", "PassEnvironment", "UnsetEnvironment", "WorkingDirectory", "RootDirectory", "RootImage",
      "ExecStartPre", "ExecStartPost", "ExecCondition", "User", "Group", "SetCredential", "SetCredentialEncrypted",
      "LoadCredentialEncrypted", "ImportCredential", "StandardInput", "StandardOutput", "TTYPath",
      "RuntimeDirectory", "CacheDirectory", "LogsDirectory", "ConfigurationDirectory"};
  for (const auto& key : unit.keys("Service")) {
    if (unmodelled.count(key) != 0) throw std::runtime_error(key + "= is set, and the simulated start does not model it");
  }

  ServiceStart s;
  s.unit_name = unit_name;
  const auto at = unit_name.find('@');
  const auto dot = unit_name.rfind('.');
  const std::string prefix = unit_name.substr(0, at == std::string::npos ? dot : at);
  const std::string instance = at == std::string::npos ? "" : unit_name.substr(at + 1, dot - at - 1);
  const std::string state_root = host_root + "/var/lib";
  s.credentials_directory = host_root + "/run/credentials/" + unit_name;
  std::map<char, std::string> specifiers = {{'n', unit_name}, {'N', unit_name.substr(0, dot)}, {'p', prefix},
                                            {'P', prefix},    {'S', state_root},  {'d', s.credentials_directory}};
  if (!instance.empty()) {
    specifiers['i'] = instance;
    specifiers['I'] = instance;  // the tests' instance names need no unescaping
  }

  const auto exec = unit.all("Service", "ExecStart");
  if (exec.size() != 1) throw std::runtime_error("expected one ExecStart=, found " + std::to_string(exec.size()));
  const std::string& command = exec.front();
  if (!command.empty() && std::string("-@:+!").find(command[0]) != std::string::npos) {
    throw std::runtime_error("ExecStart= has a prefix (" + command.substr(0, 1) + ") the simulation does not model");
  }
  s.argv = split_command_line(expand_specifiers(command, specifiers));
  if (s.argv.empty() || s.argv[0].empty() || s.argv[0][0] != '/') {
    throw std::runtime_error("ExecStart= does not start with an absolute path: " + command);
  }

  std::string state_env;
  for (const auto& value : unit.all("Service", "StateDirectory")) {
    for (const auto& dir : split_command_line(expand_specifiers(value, specifiers))) {
      s.state_directories.push_back(state_root + "/" + dir);
      state_env += (state_env.empty() ? "" : ":") + s.state_directories.back();
    }
  }
  for (const auto& value : unit.all("Service", "LoadCredential")) {
    const std::string expanded = expand_specifiers(value, specifiers);
    const auto colon = expanded.find(':');
    if (colon == std::string::npos || expanded[colon + 1] != '/') {
      throw std::runtime_error("LoadCredential= without an absolute source path is not simulated: " + value);
    }
    s.credentials.emplace_back(expanded.substr(0, colon), expanded.substr(colon + 1));
  }
  const std::string umask_text = unit.get("Service", "UMask");
  if (!umask_text.empty()) s.umask_value = static_cast<mode_t>(std::stoul(umask_text, nullptr, 8));
  s.restart = unit.get("Service", "Restart");
  for (const auto& value : unit.all("Service", "RestartPreventExitStatus")) {
    for (const auto& code : split_command_line(value)) s.restart_prevent_exit_status.insert(std::stoi(code));
  }

  // The environment of a system service with DynamicUser=yes (HOME=/, the user named after the
  // unit's prefix), plus Environment= and the directories.
  s.env = {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
           {"LANG", "C.UTF-8"},
           {"HOME", "/"},
           {"USER", prefix},
           {"LOGNAME", prefix},
           {"INVOCATION_ID", "0123456789abcdef0123456789abcdef"}};
  for (const auto& value : unit.all("Service", "Environment")) {
    for (const auto& assignment : split_command_line(expand_specifiers(value, specifiers))) {
      const auto eq = assignment.find('=');
      if (eq == std::string::npos) throw std::runtime_error("Environment= entry without '=': " + assignment);
      s.env[assignment.substr(0, eq)] = assignment.substr(eq + 1);
    }
  }
  if (!state_env.empty()) s.env["STATE_DIRECTORY"] = state_env;
  if (!s.credentials.empty()) s.env["CREDENTIALS_DIRECTORY"] = s.credentials_directory;
  return s;
}

// The value after `option` in argv ("" when absent).
inline std::string option_value(const std::vector<std::string>& argv, const std::string& option) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == option) return argv[i + 1];
  }
  return "";
}

}  // namespace qetl::test
