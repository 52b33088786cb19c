// One POST to Metabase's ETL notification endpoint over libcurl's easy interface: a single
// request at the end of a run needs none of the API client's pacing or connection reuse.
#include "bi/metabase_notify.hpp"

#include "api/ca_bundle.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "util/errors.hpp"
#include "util/mask.hpp"
#include "version.hpp"

namespace qetl {
namespace {

// Metabase answers a few bytes ({"success":true} or a short error); more is kept only up to
// this, so a proxy's error page cannot grow the job's memory.
constexpr std::size_t kMaxKeptBodyBytes = 64 * 1024;
// The excerpt of the answer in the log line.
constexpr std::size_t kMaxExcerptBytes = 200;

constexpr const char* kBody = R"({"scan":"schema"})";

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Answer {
  std::string body;
  std::string location;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* a = static_cast<Answer*>(user);
  const std::size_t n = size * count;
  // The rest is dropped, not refused: refusing would turn a readable error answer into a
  // transport error and hide its status.
  if (a->body.size() < kMaxKeptBodyBytes) a->body.append(data, std::min(n, kMaxKeptBodyBytes - a->body.size()));
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* a = static_cast<Answer*>(user);
  const std::size_t n = size * count;
  const std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) a->location.clear();  // a new answer starts
  const std::size_t colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name != "location") return n;
  std::string value = line.substr(colon + 1);
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t\r\n");
  a->location = first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
  return n;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// The answer as one log line: control characters become spaces, runs of spaces one space,
// bytes that are not UTF-8 '?', and at most kMaxExcerptBytes (never cutting a character).
std::string one_line_excerpt(const std::string& text) {
  std::string out;
  bool truncated = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::string piece;
    if (c < 0x20 || c == 0x7F || c == ' ') {
      piece = (out.empty() || out.back() == ' ') ? "" : " ";
      i += 1;
    } else if (c < 0x80) {
      piece = std::string(1, static_cast<char>(c));
      i += 1;
    } else if (const std::size_t len = utf8_length(text, i); len > 0) {
      piece = text.substr(i, len);
      i += len;
    } else {
      piece = "?";
      i += 1;
    }
    if (out.size() + piece.size() > kMaxExcerptBytes) {
      truncated = true;
      break;
    }
    out += piece;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (truncated) out += "...";
  return out;
}

// Every form in which an answer could echo the key: as sent, with '/' escaped as JSON
// allows, and percent-encoded (Metabase keys are base64 text: '+', '/', '=').
std::string redact_key(std::string text, const std::string& key) {
  text = redact(std::move(text), key);
  std::string json_escaped, percent_encoded;
  for (char c : key) {
    json_escaped += c == '/' ? std::string("\\/") : std::string(1, c);
    const bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      percent_encoded += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      percent_encoded += buf;
    }
  }
  if (json_escaped != key) text = redact(std::move(text), json_escaped);
  if (percent_encoded != key) text = redact(std::move(text), percent_encoded);
  return text;
}

// A short name for what went wrong below HTTP; libcurl's own text follows it.
const char* transport_phrase(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return "timed out";
    case CURLE_COULDNT_CONNECT: return "could not connect";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "could not resolve the host";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: return "TLS error";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE: return "connection lost";
    default: return "request failed";
  }
}

MetabaseNotifyResult notify(const BiConfig& bi, const std::string& key, double timeout_seconds,
                            const std::optional<std::string>& ca_file) {
  const std::string url = bi.metabase_url + "/api/notify/db/" + std::to_string(bi.metabase_database_id);
  // The URL may carry user:password@ (the config allows it), so it is masked before it is
  // shown; the key travels only in a header and is redacted anyway, as a last line of defence.
  const std::string shown_url = redact_key(mask_warehouse_url(url), key);
  const auto outcome = [&](long status, const std::string& what) {
    return MetabaseNotifyResult{false, status, redact_key("POST " + shown_url + " " + what, key)};
  };

  if (key.empty()) return outcome(0, "not sent: the Metabase API key is empty");
  // A line break in the key would let it write further headers: never send it.
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return outcome(0, "not sent: the Metabase API key contains control characters");
    }
  }

  std::string ca_bundle;
  if (ca_file) {
    try {
      ca_bundle = system_ca_bundle_plus(*ca_file);
    } catch (const EtlError& e) {
      return outcome(0, std::string("not sent: ") + e.what());
    }
  }

  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return outcome(0, "not sent: curl_easy_init failed");
  curl_slist* raw_headers = nullptr;
  for (const std::string& h : {std::string("Content-Type: application/json"), std::string("Accept: application/json"),
                               "X-METABASE-APIKEY: " + key,
                               // A small body needs no 100-continue round trip.
                               std::string("Expect:")}) {
    curl_slist* next = curl_slist_append(raw_headers, h.c_str());
    if (next == nullptr) {
      curl_slist_free_all(raw_headers);
      return outcome(0, "not sent: out of memory");
    }
    raw_headers = next;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  Answer answer;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  const std::string user_agent = std::string("qonversion-etl/") + kVersion;
  // Bounded so the milliseconds fit a long whatever the config says.
  const double timeout = timeout_seconds > 0 ? std::min(timeout_seconds, 86400.0) : 30;
  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, kBody);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(std::strlen(kBody)));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout * 1000));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(timeout, 10.0) * 1000));
  // A redirect would turn the POST into a GET or carry the key to another host: report it.
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &answer);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  if (!ca_bundle.empty()) {
    curl_blob blob{ca_bundle.data(), ca_bundle.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }

  const CURLcode code = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (code != CURLE_OK) {
    const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    return outcome(status, std::string("failed: ") + transport_phrase(code) + " (" + one_line_excerpt(detail) + ")");
  }

  std::string what = "answered HTTP " + std::to_string(status);
  if (status >= 300 && status < 400 && !answer.location.empty()) {
    what += " (redirect to " + one_line_excerpt(mask_warehouse_url(answer.location)) +
            ": set metabase_url to the final address)";
  }
  const std::string excerpt = one_line_excerpt(redact_key(answer.body, key));
  what += excerpt.empty() ? " (empty body)" : ": " + excerpt;
  MetabaseNotifyResult result = outcome(status, what);
  result.ok = status >= 200 && status < 300;
  return result;
}

}  // namespace

MetabaseNotifyResult notify_metabase(const BiConfig& bi, const std::string& metabase_api_key, double timeout_seconds,
                                     const std::optional<std::string>& ca_file) {
  // The run's rows are stored already; nothing here may end it.
  try {
    return notify(bi, metabase_api_key, timeout_seconds, ca_file);
  } catch (const std::exception& e) {
    try {
      return {false, 0, redact_key(std::string("Metabase notification failed: ") + e.what(), metabase_api_key)};
    } catch (...) {
    }
  } catch (...) {
  }
  return {false, 0, "Metabase notification failed"};
}

}  // namespace qetl
