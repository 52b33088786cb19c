#pragma once
// The filter dimensions of the customers-metrics endpoint (API.md), in the order their
// columns appear in customer_metrics. "search" is the API's scalar universal search; the
// others are list filters sent as repeated filter[<name>][] keys.
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace qetl {

inline constexpr std::array<std::string_view, 17> kDimensions = {
    "status",          "target_platform", "country",       "product_id",         "purchase_currency",
    "locale",          "model",           "os_version",    "app_version",        "sdk_version",
    "media_source_name", "campaign_name", "ad_set_name",   "ad_name",            "experiment_uid",
    "experiment_group_uid", "search"};
inline constexpr std::size_t kDimensionCount = kDimensions.size();
inline constexpr std::string_view kSearchDimension = "search";

inline std::optional<std::size_t> dimension_index(std::string_view name) {
  for (std::size_t i = 0; i < kDimensions.size(); ++i) {
    if (kDimensions[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace qetl
