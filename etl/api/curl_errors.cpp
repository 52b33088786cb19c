// The one mapping from libcurl's result codes to TransportError, for the API client and the
// Metabase notification alike.
#include <curl/curl.h>

#include "api/transport_error.hpp"

namespace qetl {

const char* to_string(TransportError e) {
  switch (e) {
    case TransportError::none: return "none";
    case TransportError::timeout: return "timeout";
    case TransportError::connect_failed: return "connect failed";
    case TransportError::connection_reset: return "connection reset";
    case TransportError::tls_handshake: return "TLS handshake failed";
    case TransportError::tls_untrusted: return "TLS certificate not trusted";
    case TransportError::body_too_large: return "body too large";
    case TransportError::aborted: return "aborted";
    case TransportError::other: return "transfer failed";
  }
  return "transfer failed";
}

TransportError transport_error_from_curl(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK: return TransportError::none;
    case CURLE_OPERATION_TIMEDOUT: return TransportError::timeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return TransportError::connect_failed;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING: return TransportError::connection_reset;
    case CURLE_SSL_CONNECT_ERROR: return TransportError::tls_handshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return TransportError::tls_untrusted;
    case CURLE_FILESIZE_EXCEEDED: return TransportError::body_too_large;
    case CURLE_ABORTED_BY_CALLBACK: return TransportError::aborted;
    default: return TransportError::other;
  }
}

}  // namespace qetl
