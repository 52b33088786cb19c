#include "api/query.hpp"

namespace qetl {

std::string build_query(const Cell& cell) {
  std::string q = "environment=" + std::to_string(cell.environment);
  q += "&filter[since][]=" + std::to_string(cell.window_from);
  q += "&filter[since][]=" + std::to_string(cell.window_to);
  for (const CellFilter& f : cell.filters) {
    if (f.dimension == "search") {
      q += "&search=" + percent_encode(f.values.empty() ? std::string() : f.values.front());
      continue;
    }
    for (const std::string& v : f.values) {
      q += "&filter[" + f.dimension + "][]=" + percent_encode(v);
    }
  }
  return q;
}

namespace {
std::string_view trim_trailing_slash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

// "https://host:443/v1/analytics" -> "/v1/analytics"
std::string_view url_path(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return url;
  const std::size_t slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view() : url.substr(slash);
}
}  // namespace

std::string request_url(std::string_view base_url, std::string_view api_key, std::string_view query) {
  std::string url(trim_trailing_slash(base_url));
  url += '/';
  url += api_key;
  url += "/customers-metrics?";
  url += query;
  return url;
}

std::string display_url(std::string_view base_url, std::string_view query) {
  return request_url(url_path(trim_trailing_slash(base_url)), "****", query);
}

}  // namespace qetl
