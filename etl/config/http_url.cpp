#include "config/http_url.hpp"

#include "config/text_value.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace qetl {
namespace {

const char* const kLoopbackRule = "http:// is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost";

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

// One part of a parsed URL; `present` is false when the URL has none.
struct Part {
  bool present = false;
  std::string text;
};

Part get_part(CURLU* url, CURLUPart which) {
  char* out = nullptr;
  Part part;
  if (curl_url_get(url, which, &out, 0) == CURLUE_OK && out != nullptr) {
    part.present = true;
    part.text = out;
  }
  curl_free(out);
  return part;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char lower_case, char c) { return std::tolower(static_cast<unsigned char>(c)) == lower_case; });
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// `host` as libcurl normalises it: IPv4 in dotted quads (127.1 -> 127.0.0.1), IPv6 in brackets.
bool is_loopback(const std::string& host) {
  const std::string h = lower(host);
  if (h == "localhost" || h == "localhost.") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    in6_addr v6{};
    const std::string inner = h.substr(1, h.size() - 2);
    return inet_pton(AF_INET6, inner.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

// user:password@ ends at an '@' after "scheme://" (or, without one, an '@' after a ':').
bool may_hold_password(const std::string& url) {
  const std::size_t at = url.rfind('@');
  if (at == std::string::npos) return false;
  const std::size_t authority = url.find("://");
  return authority != std::string::npos ? at > authority : url.find(':') < at;
}

}  // namespace

std::string http_url_problem(std::string_view url, PlainHttp plain_http, std::string_view secret) {
  const std::string text(url);
  const std::string quoted = quoted_for_message(text);
  // A URL that may hold a password is described, never repeated.
  const std::string shown = may_hold_password(text) ? std::string("the URL (not shown: it may hold a password)") : quoted;

  if (!starts_with_ci(text, "https://") && !starts_with_ci(text, "http://")) {
    return plain_http == PlainHttp::loopback_only ? shown + " is not an https:// URL (" + kLoopbackRule + ")"
                                                  : shown + " is not an http:// or https:// URL";
  }
  const UrlHandle handle(curl_url());
  if (!handle) return "cannot check " + shown + ": out of memory";
  const CURLUcode parsed = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0);
  if (parsed != CURLUE_OK) return shown + " is not a URL libcurl can use: " + curl_url_strerror(parsed);

  if (get_part(handle.get(), CURLUPART_USER).present || get_part(handle.get(), CURLUPART_PASSWORD).present) {
    return "must not hold a user name or password (URLs are printed in logs)";
  }
  // By text, not by part: libcurl drops an empty "?" or "#", which would still end up in a path.
  if (text.find_first_of("?#") != std::string::npos) {
    return shown + " has a query or fragment: the job appends its own path and query";
  }
  const Part port = get_part(handle.get(), CURLUPART_PORT);
  if (port.present && port.text == "0") return shown + " has port 0";

  const std::string scheme = get_part(handle.get(), CURLUPART_SCHEME).text;
  if (plain_http == PlainHttp::loopback_only && scheme == "http" && !is_loopback(get_part(handle.get(), CURLUPART_HOST).text)) {
    return shown + " would send the " + std::string(secret) + " in clear text: use https:// (" + kLoopbackRule + ")";
  }
  return "";
}

}  // namespace qetl
