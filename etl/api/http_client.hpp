#pragma once
// Many GET requests in flight at once over libcurl's multi interface, with keep-alive
// reuse, gzip and TLS verification always on. Only http_client.cpp includes curl.h.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qetl {

// What went wrong below HTTP; kept apart from the status code (a 500 is not a transport error).
enum class TransportError {
  none,
  timeout,            // the whole-request timeout passed
  connect_failed,     // refused, unreachable, DNS failure
  connection_reset,   // the peer closed or reset the connection mid-answer
  tls,                // certificate or handshake failure
  body_too_large,
  aborted,            // abort_all() (signal)
  other,
};
const char* to_string(TransportError e);

struct HttpResult {
  TransportError transport = TransportError::none;
  std::string transport_message;  // libcurl's explanation; may contain the URL: redact before printing
  long status = 0;                // 0 when no answer arrived
  std::string body;
  std::optional<std::string> retry_after;  // the Retry-After header, verbatim
  std::string content_encoding;             // as the server sent it ("gzip"); the body is decoded
  double seconds = 0;                      // from start to finish
};

struct HttpClientOptions {
  std::string user_agent;
  double timeout_seconds = 30;
  std::optional<std::string> ca_file;  // added to the system's CA bundle
  long max_connections = 8;             // connection cache size
};

// Ends libcurl's global state; curl_global_init is called once in main (before threads).
struct CurlGlobal {
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

class HttpClient {
 public:
  using RequestId = std::uint64_t;

  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  RequestId start(const std::string& url);
  // Drives the transfers for up to timeout_ms (less when one finishes or wake() is called)
  // and returns the requests that finished.
  std::vector<std::pair<RequestId, HttpResult>> poll(int timeout_ms);
  std::size_t in_flight() const;
  // Ends every transfer in flight; each is reported by the next poll() as aborted.
  void abort_all();
  // Makes a poll() that is waiting return at once; safe from another thread.
  void wake();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qetl
