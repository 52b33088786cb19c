#pragma once
// Many GET requests in flight at once over libcurl's multi interface, with keep-alive
// reuse, gzip and TLS verification always on. Only http_client.cpp includes curl.h.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/transport.hpp"

namespace qetl {

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

class HttpClient final : public Transport {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  RequestId start(const std::string& url) override;
  // Drives the transfers for up to timeout_ms (less when one finishes or wake() is called)
  // and returns the requests that finished.
  std::vector<std::pair<RequestId, HttpResult>> poll(int timeout_ms);
  // poll() until `deadline` at the latest (steady clock).
  std::vector<std::pair<RequestId, HttpResult>> wait(SteadyTime deadline) override;
  std::size_t in_flight() const;
  // Ends every transfer in flight; each is reported by the next poll() as aborted.
  void abort_all() override;
  // Makes a poll() that is waiting return at once; safe from another thread.
  void wake();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qetl
