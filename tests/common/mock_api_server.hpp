#pragma once
// Runs the Qonversion mock (tests/mock_api/qonversion_mock.py) as a child process for a test:
//
//   qetl::test::MockApiServer server({"--keys", "k1,k2", "--latency-ms", "20"});
//   config.base_url = server.base_url();          // http://127.0.0.1:<port>/v1/analytics
//   ...run the code under test...
//   std::string stats = server.stats_json();       // GET /__stats
//
// It depends on nothing of the code under test (no libcurl): fork/exec, a pipe for the mock's
// handshake line ("QETL_MOCK_LISTENING port=<port>") and a raw HTTP/1.0 socket for the
// control endpoints. The mock's stderr goes to a log file in /tmp (removed by the destructor
// unless QETL_KEEP_MOCK_LOG is set); its stdout is read for the handshake only, and the mock
// writes nothing after it, so no pipe can fill up.
//
// The child gets SIGTERM if the thread that started it dies (PR_SET_PDEATHSIG), so a crashed
// test leaves no mock behind: create servers on the test's own thread, not on a short-lived one.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// The test binaries get both as compile definitions (tests/CMakeLists.txt); these defaults only
// keep the header usable elsewhere.
#ifndef QETL_PYTHON
#define QETL_PYTHON "python3"
#endif
#ifndef QETL_MOCK_API
#define QETL_MOCK_API "tests/mock_api/qonversion_mock.py"
#endif

namespace qetl::test {

class MockApiServer {
 public:
  // Starts `python script <args...> --port 0` and waits (15 s at most) for its handshake line.
  // Throws std::runtime_error, with the tail of the mock's stderr, when it does not come.
  explicit MockApiServer(std::vector<std::string> args = {}, std::string python = QETL_PYTHON,
                         std::string script = QETL_MOCK_API)
      : args_(std::move(args)) {
    for (std::size_t i = 0; i + 1 < args_.size(); ++i) {
      if (args_[i] == "--host") host_ = args_[i + 1];
      if (args_[i] == "--tls-cert") tls_ = true;
    }
    try {
      start(python, script);
    } catch (...) {
      stop();
      if (!log_path_.empty()) ::unlink(log_path_.c_str());  // its text is in the message
      throw;
    }
  }

  ~MockApiServer() {
    stop();
    if (!log_path_.empty() && std::getenv("QETL_KEEP_MOCK_LOG") == nullptr) {
      ::unlink(log_path_.c_str());
    }
  }

  MockApiServer(const MockApiServer&) = delete;
  MockApiServer& operator=(const MockApiServer&) = delete;
  MockApiServer(MockApiServer&& other) noexcept { swap(other); }
  MockApiServer& operator=(MockApiServer&& other) noexcept {
    if (this != &other) {
      MockApiServer gone(std::move(*this));  // stops our current child, if any
      swap(other);
    }
    return *this;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "http://127.0.0.1:<port>" ("https://..." when started with --tls-cert).
  std::string origin() const {
    const std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_);
  }
  // What the job's [api] base_url takes: "http://127.0.0.1:<port>/v1/analytics".
  std::string base_url() const { return origin() + "/v1/analytics"; }

  // GET /__stats: the mock's counters as JSON text (see tests/mock_api/README.md). Works in TLS
  // mode too: the mock keeps plain HTTP on the same port for its control endpoints.
  std::string stats_json() const { return control_request("GET", "/__stats"); }
  // POST /__reset: clears the counters, the attempt numbers and the rate limiter.
  void reset_stats() const { control_request("POST", "/__reset"); }

  // SIGTERM, then waits; SIGKILL after 5 s. Idempotent.
  void stop() noexcept {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    bool reaped = false;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) { reaped = true; break; }
      if (r < 0 && errno != EINTR) break;  // ECHILD: someone else reaped it
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
        }
        reaped = r == pid_;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (reaped) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    pid_ = -1;
  }

  // After stop(): the exit code (0 after a clean SIGTERM), or 128 + signal; -1 if unknown.
  int exit_status() const { return exit_status_; }

  // The mock's stderr (Python tracebacks, --verbose lines).
  const std::string& log_path() const { return log_path_; }
  std::string log_text() const {
    std::ifstream in(log_path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void reset() {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  };

  void swap(MockApiServer& o) noexcept {
    std::swap(args_, o.args_);
    std::swap(host_, o.host_);
    std::swap(tls_, o.tls_);
    std::swap(pid_, o.pid_);
    std::swap(port_, o.port_);
    std::swap(exit_status_, o.exit_status_);
    std::swap(log_path_, o.log_path_);
  }

  std::string failure(const std::string& what) const {
    std::string log = log_text();
    if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
    return "MockApiServer: " + what + (log.empty() ? "" : "; its stderr:\n" + log);
  }

  void start(const std::string& python, const std::string& script) {
    std::vector<std::string> argv_strings{python, script};
    argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
    argv_strings.push_back("--port");  // the last --port wins in argparse
    argv_strings.push_back("0");
    // Everything the child needs is prepared before fork(): after it, in a possibly
    // multi-threaded parent, the child may only make async-signal-safe calls.
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    char log_template[] = "/tmp/qetl-mock-api-XXXXXX.log";
    Fd log_fd(::mkostemps(log_template, 4, O_CLOEXEC));
    if (log_fd.fd < 0) throw std::runtime_error("MockApiServer: cannot create a log file in /tmp");
    log_path_ = log_template;
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("MockApiServer: pipe2 failed");
    Fd out_read(pipe_fds[0]);
    Fd out_write(pipe_fds[1]);
    Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const bool search_path = python.find('/') == std::string::npos;
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("MockApiServer: fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      // The code under test may block or ignore signals (a signal-handling thread); the mock
      // must still get SIGTERM/SIGINT, and blocked masks and ignored signals survive exec.
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGPIPE, SIG_DFL);
      if (dev_null.fd >= 0) ::dup2(dev_null.fd, 0);
      ::dup2(out_write.fd, 1);
      ::dup2(log_fd.fd, 2);
      if (search_path) {
        ::execvp(argv[0], argv.data());
      } else {
        ::execv(argv[0], argv.data());
      }
      static const char msg[] = "MockApiServer: exec of the python interpreter failed\n";
      [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
      ::_exit(127);
    }
    pid_ = pid;
    out_write.reset();  // so a dead child reads as EOF

    const std::string line = read_handshake(out_read.fd);
    const std::string prefix = "QETL_MOCK_LISTENING port=";
    if (line.compare(0, prefix.size(), prefix) == 0) {
      try {
        port_ = std::stoi(line.substr(prefix.size()));
      } catch (const std::exception&) {
        port_ = 0;
      }
    }
    if (port_ <= 0) {
      stop();
      throw std::runtime_error(failure("unexpected first line \"" + line + "\" from " + python +
                                       " " + script));
    }
  }

  // The first stdout line, within 15 s; throws (after killing the child) otherwise.
  std::string read_handshake(int fd) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        stop();
        throw std::runtime_error(failure("no handshake line within 15 s"));
      }
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;  // timeout: the deadline check above throws
      char buf[256];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stop();
        throw std::runtime_error(failure("the mock exited before its handshake line (exit status " +
                                         std::to_string(exit_status_) + ")"));
      }
      line.append(buf, static_cast<std::size_t>(n));
      const auto eol = line.find('\n');
      if (eol != std::string::npos) return line.substr(0, eol);
    }
  }

  // One HTTP/1.0 request on a fresh socket; returns the body of a 200, throws otherwise.
  std::string control_request(const std::string& method, const std::string& path) const {
    if (port_ <= 0) throw std::runtime_error("MockApiServer: not running");
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res) != 0 || !res) {
      throw std::runtime_error("MockApiServer: bad host " + host_);
    }
    Fd sock(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int connected = sock.fd < 0 ? -1 : ::connect(sock.fd, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    if (connected != 0) {
      throw std::runtime_error("MockApiServer: cannot connect for " + path + ": " +
                               std::strerror(errno));
    }
    timeval tv{10, 0};
    ::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    const std::string request = method + " " + path + " HTTP/1.0\r\nHost: " + host_ +
                                "\r\nContent-Length: 0\r\n\r\n";
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("MockApiServer: send failed for " + path);
      sent += static_cast<std::size_t>(n);
    }
    std::string response;
    char buf[8192];
    for (;;) {  // HTTP/1.0: the server closes after the answer
      const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error("MockApiServer: no answer to " + path);
      if (n == 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
    const auto header_end = response.find("\r\n\r\n");
    const auto space = response.find(' ');
    if (header_end == std::string::npos || space == std::string::npos ||
        response.compare(space + 1, 3, "200") != 0) {
      throw std::runtime_error("MockApiServer: " + method + " " + path + " answered: " +
                               response.substr(0, 200));
    }
    return response.substr(header_end + 4);
  }

  std::vector<std::string> args_;
  std::string host_ = "127.0.0.1";
  bool tls_ = false;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
  std::string log_path_;
};

}  // namespace qetl::test
