#pragma once
// The one cleaner for text that comes from outside (API answers, proxies, libraries) before it
// is logged or stored: journald shows a line with invalid UTF-8 as a blob, PostgreSQL refuses it
// in a text column, and a secret echoed back must never be written anywhere.
#include <string>
#include <string_view>

namespace qetl {

// `raw` as one line of valid UTF-8: every byte that does not start a well-formed UTF-8
// sequence (overlong forms, surrogates and code points past U+10FFFF included) becomes U+FFFD;
// control characters (C0, DEL, C1) and runs of blanks become one space; leading and trailing
// blanks are dropped. The result holds at most `max_bytes` bytes, cut on a character boundary,
// with "..." appended when something was cut.
std::string clean_text(std::string_view raw, std::size_t max_bytes = 600);

// `text` with every occurrence of `secret` replaced by "****": as it is, percent-encoded (upper
// and lower case hex) and JSON-escaped ('/' as "\/"), the forms in which an answer may echo a key
// it received in a URL path or header. No-op for an empty secret.
std::string cut_out_secret(std::string text, std::string_view secret);

// `text` with every byte that does not start a well-formed UTF-8 sequence replaced by U+FFFD;
// nothing else changes (for JSON, which escapes control characters itself).
std::string valid_utf8(std::string_view text);

// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

enum class HexCase { upper, lower };

// Percent-encoding (RFC 3986): ASCII letters, digits and the characters of `keep` as they are,
// every other byte as %XX; UTF-8 is encoded byte by byte. The default `keep` is the rest of RFC
// 3986's unreserved characters: what a URL needs. A narrower `keep` serves names that must stay
// distinct and safe in other places (file names).
std::string percent_encode(std::string_view text, std::string_view keep = "-._~", HexCase hex = HexCase::upper);

}  // namespace qetl
