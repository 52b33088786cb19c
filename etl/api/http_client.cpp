#include "api/http_client.hpp"

#include "api/ca_bundle.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "util/errors.hpp"

namespace qetl {
namespace {

constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* h) const { curl_multi_cleanup(h); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

// One request in flight: its easy handle and what has arrived so far.
struct Transfer {
  HttpClient::RequestId id = 0;
  EasyHandle easy;
  std::string body;
  std::string content_encoding;
  bool too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  std::chrono::steady_clock::time_point started;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->body.size() + n > kMaxBodyBytes) {
    t->too_large = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string line(data, n);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
    if (name == "content-encoding") t->content_encoding = value;
  } else if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a 100-continue, say) starts: forget the previous one's headers.
    t->content_encoding.clear();
  }
  return n;
}

}  // namespace

CurlGlobal::CurlGlobal() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
}
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

struct HttpClient::Impl {
  HttpClientOptions options;
  MultiHandle multi;
  std::map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::vector<EasyHandle> idle;  // reused easy handles keep their DNS and TLS session caches
  std::vector<std::pair<RequestId, HttpResult>> aborted;
  RequestId next_id = 1;
  std::string ca_bundle;  // system bundle + ca_file, when ca_file is set

  HttpResult finish(Transfer& t, CURLcode code) {
    HttpResult r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t.started).count();
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &r.status);
    r.transport = t.too_large ? TransportError::body_too_large : transport_error_from_curl(code);
    if (r.transport != TransportError::none) {
      r.transport_message = t.error_buffer[0] != '\0' ? t.error_buffer : curl_easy_strerror(code);
      if (t.too_large) r.transport_message = "answer larger than " + std::to_string(kMaxBodyBytes) + " bytes";
    }
    r.body = std::move(t.body);
    // libcurl reads Retry-After in both forms (delta-seconds and HTTP-date); 0 when absent.
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(t.easy.get(), CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
      r.retry_after_seconds = static_cast<double>(retry_after);
    }
    if (r.status >= 300 && r.status < 400) {
      const char* location = nullptr;
      if (curl_easy_getinfo(t.easy.get(), CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr) {
        r.location = location;
      }
    }
    r.content_encoding = std::move(t.content_encoding);
    long connects = 0;
    r.opened_connection = curl_easy_getinfo(t.easy.get(), CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0;
    return r;
  }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->multi.reset(curl_multi_init());
  if (!impl_->multi) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(impl_->multi.get(), CURLMOPT_MAXCONNECTS, impl_->options.max_connections);
  if (impl_->options.ca_file) impl_->ca_bundle = system_ca_bundle_plus(*impl_->options.ca_file);
}

HttpClient::~HttpClient() {
  for (auto& [easy, transfer] : impl_->transfers) curl_multi_remove_handle(impl_->multi.get(), easy);
}

HttpClient::RequestId HttpClient::start(const std::string& url) {
  auto t = std::make_unique<Transfer>();
  t->id = impl_->next_id++;
  if (!impl_->idle.empty()) {
    t->easy = std::move(impl_->idle.back());
    impl_->idle.pop_back();
    curl_easy_reset(t->easy.get());
  } else {
    t->easy.reset(curl_easy_init());
    if (!t->easy) throw std::runtime_error("curl_easy_init failed");
  }
  CURL* h = t->easy.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, impl_->options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode (gzip)
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(impl_->options.timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(impl_->options.timeout_seconds, 10.0) * 1000));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->error_buffer);
  if (!impl_->ca_bundle.empty()) {
    curl_blob blob{impl_->ca_bundle.data(), impl_->ca_bundle.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  t->started = std::chrono::steady_clock::now();
  if (curl_multi_add_handle(impl_->multi.get(), h) != CURLM_OK) throw std::runtime_error("curl_multi_add_handle failed");
  const RequestId id = t->id;
  impl_->transfers.emplace(h, std::move(t));
  return id;
}

std::vector<std::pair<HttpClient::RequestId, HttpResult>> HttpClient::poll(int timeout_ms) {
  std::vector<std::pair<RequestId, HttpResult>> done = std::move(impl_->aborted);
  impl_->aborted.clear();
  int running = 0;
  curl_multi_perform(impl_->multi.get(), &running);
  if (done.empty() && !impl_->transfers.empty()) {
    curl_multi_poll(impl_->multi.get(), nullptr, 0, timeout_ms, nullptr);
    curl_multi_perform(impl_->multi.get(), &running);
  } else if (done.empty()) {
    curl_multi_poll(impl_->multi.get(), nullptr, 0, timeout_ms, nullptr);
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(impl_->multi.get(), &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    auto it = impl_->transfers.find(easy);
    if (it == impl_->transfers.end()) continue;
    curl_multi_remove_handle(impl_->multi.get(), easy);
    std::unique_ptr<Transfer> t = std::move(it->second);
    impl_->transfers.erase(it);
    done.emplace_back(t->id, impl_->finish(*t, code));
    impl_->idle.push_back(std::move(t->easy));
  }
  return done;
}

std::vector<std::pair<HttpClient::RequestId, HttpResult>> HttpClient::wait(SteadyTime deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return poll(static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000)));
}

std::size_t HttpClient::in_flight() const { return impl_->transfers.size(); }

void HttpClient::abort_all() {
  for (auto& [easy, t] : impl_->transfers) {
    curl_multi_remove_handle(impl_->multi.get(), easy);
    HttpResult r;
    r.transport = TransportError::aborted;
    r.transport_message = "aborted: the run is stopping";
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t->started).count();
    impl_->aborted.emplace_back(t->id, std::move(r));
  }
  impl_->transfers.clear();
}

void HttpClient::wake() { curl_multi_wakeup(impl_->multi.get()); }

}  // namespace qetl
