#pragma once
// Request URLs for the customers-metrics endpoint. The API key sits in the URL path, so
// every URL meant for people goes through display_url(), the one place it is masked.
#include <string>
#include <string_view>

#include "matrix/cell.hpp"
#include "util/text.hpp"  // percent_encode: every filter value; brackets in parameter names
                          // are sent raw, as the API's docs show

namespace qetl {

// "environment=1&filter[since][]=<from>&filter[since][]=<to>&filter[country][]=US&..."
// Filters follow the cell's order (sorted by dimension name); the scalar search is `search=`.
std::string build_query(const Cell& cell);

// The URL actually requested: <base_url>/<api_key>/customers-metrics?<query>.
std::string request_url(std::string_view base_url, std::string_view api_key, std::string_view query);

// The same URL as printed and stored: "/v1/analytics/****/customers-metrics?<query>" — the
// base URL's path only (no scheme or host) and the key masked.
std::string display_url(std::string_view base_url, std::string_view query);

}  // namespace qetl
