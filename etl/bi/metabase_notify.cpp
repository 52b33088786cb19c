// One POST to Metabase's ETL notification endpoint over libcurl's easy interface: a single
// request at the end of a run needs none of the API client's pacing or connection reuse.
#include "bi/metabase_notify.hpp"

#include "api/ca_bundle.hpp"
#include "api/transport_error.hpp"

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
#include "util/text.hpp"
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

// One line of the answer for the log: valid UTF-8, key cut out, at most kMaxExcerptBytes.
std::string excerpt(const std::string& text, const std::string& key) {
  return clean_text(cut_out_secret(text, key), kMaxExcerptBytes);
}

// libcurl's progress callback, used only to abandon the request when a stop signal arrives.
int on_progress(void* stop, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<int>*>(stop)->load() != 0 ? 1 : 0;
}

MetabaseNotifyResult notify(const BiConfig& bi, const std::string& key, double timeout_seconds,
                            const std::optional<std::string>& ca_file, const std::atomic<int>* stop) {
  const std::string url = bi.metabase_url + "/api/notify/db/" + std::to_string(bi.metabase_database_id);
  // The URL may carry user:password@ (the config allows it), so it is masked before it is
  // shown; the key travels only in a header and is redacted anyway, as a last line of defence.
  const std::string shown_url = cut_out_secret(mask_warehouse_url(url), key);
  const auto outcome = [&](long status, const std::string& what) {
    return MetabaseNotifyResult{false, status, cut_out_secret("POST " + shown_url + " " + what, key)};
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
  if (stop != nullptr) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<int>*>(stop));
  }

  const CURLcode code = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (code != CURLE_OK) {
    const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    const TransportError error = transport_error_from_curl(code);
    if (error == TransportError::aborted) return outcome(status, "abandoned: the run is stopping");
    return outcome(status, std::string("failed: ") + to_string(error) + " (" + excerpt(detail, key) + ")");
  }

  std::string what = "answered HTTP " + std::to_string(status);
  if (status >= 300 && status < 400 && !answer.location.empty()) {
    what += " (redirect to " + excerpt(mask_warehouse_url(answer.location), key) +
            ": set metabase_url to the final address)";
  }
  const std::string body = excerpt(answer.body, key);
  what += body.empty() ? " (empty body)" : ": " + body;
  MetabaseNotifyResult result = outcome(status, what);
  result.ok = status >= 200 && status < 300;
  return result;
}

}  // namespace

MetabaseNotifyResult notify_metabase(const BiConfig& bi, const std::string& metabase_api_key, double timeout_seconds,
                                     const std::optional<std::string>& ca_file, const std::atomic<int>* stop) {
  // The run's rows are stored already; nothing here may end it.
  try {
    return notify(bi, metabase_api_key, timeout_seconds, ca_file, stop);
  } catch (const std::exception& e) {
    try {
      return {false, 0, cut_out_secret(std::string("Metabase notification failed: ") + e.what(), metabase_api_key)};
    } catch (...) {
    }
  } catch (...) {
  }
  return {false, 0, "Metabase notification failed"};
}

}  // namespace qetl
