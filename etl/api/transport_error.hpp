#pragma once
// What went wrong below HTTP, kept apart from the status code (a 500 is not a transport error).
// libcurl's codes are mapped to this small enum in one place (curl_errors.cpp), so only the HTTP
// clients include curl.h; what each kind means for a run is in failure_policy.cpp.
namespace qetl {

enum class TransportError {
  none,
  timeout,           // the whole-request timeout passed
  connect_failed,    // refused, unreachable, DNS failure
  connection_reset,  // the peer closed or reset the connection mid-answer
  tls_handshake,     // the TLS handshake failed (may pass on another try)
  tls_untrusted,     // the server's certificate was not trusted: no try will pass
  body_too_large,
  aborted,           // abort_all() (a stop signal)
  other,
};

const char* to_string(TransportError e);

// The TransportError for a CURLcode (passed as int so that callers need not include curl.h).
TransportError transport_error_from_curl(int curl_code);

}  // namespace qetl
