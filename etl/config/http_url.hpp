#pragma once
// Base URLs the job appends paths to ([api] base_url, [bi] metabase_url), checked with libcurl's
// own URL parser so that what passes here is what libcurl will accept at run time.
#include <string>
#include <string_view>

namespace qetl {

// Whether plain http:// is acceptable. The API key travels in the path of every request, so
// for the API it is, only to this machine.
enum class PlainHttp { loopback_only, allowed };

// Why `url` cannot be used, or "" when it can: not http(s)://, not parseable by libcurl (bad
// port, unclosed '[', spaces...), port 0, a user name or password, a query or fragment, or
// (loopback_only) http:// to a host other than 127.0.0.0/8, ::1 or localhost. `secret` names
// what would travel in clear text ("API key"). A URL that may hold a password is not quoted.
std::string http_url_problem(std::string_view url, PlainHttp plain_http, std::string_view secret);

}  // namespace qetl
