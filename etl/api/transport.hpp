#pragma once
// What the fetch loop needs of HTTP: start GETs, collect the ones that finished, abort. The real
// one is HttpClient (libcurl multi); tests drive the loop with a simulated transport and clock.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/transport_error.hpp"
#include "util/clock.hpp"

namespace qetl {

struct HttpResult {
  TransportError transport = TransportError::none;
  std::string transport_message;  // libcurl's explanation; may contain the URL: redact before printing
  long status = 0;                // 0 when no answer arrived
  std::string body;
  std::optional<double> retry_after_seconds;  // Retry-After, either form, as libcurl read it
  std::string location;                       // Location of a 3xx answer
  std::string content_encoding;               // as the server sent it ("gzip"); the body is decoded
  bool opened_connection = false;             // the request needed a new connection (TCP, TLS)
  double seconds = 0;                         // from start to finish
};

class Transport {
 public:
  using RequestId = std::uint64_t;
  virtual ~Transport() = default;

  virtual RequestId start(const std::string& url) = 0;
  // The requests that finished, waiting until `deadline` at the latest for one to finish.
  virtual std::vector<std::pair<RequestId, HttpResult>> wait(SteadyTime deadline) = 0;
  // Ends every request in flight; each is reported by the next wait() as aborted.
  virtual void abort_all() = 0;
};

}  // namespace qetl
