#pragma once
// What the API accepts for each filter dimension (API.md), checked before any request.
#include <cstddef>
#include <string>
#include <string_view>

namespace qetl {

// The API's limit on the universal search text, and ours on every other value and group name:
// labels are stored in their dimension's column and, joined, in the segment (matrix.hpp bounds
// the joined length).
inline constexpr std::size_t kMaxSearchLength = 255;
inline constexpr std::size_t kMaxValueLength = 255;

// Why `value` cannot be sent as a `dimension` filter, or "" when it can. The message quotes the
// value (filter values are not secret) unless the value is not printable text.
std::string dimension_value_problem(std::string_view dimension, std::string_view value);

// Why `name` cannot name a group of values, or "" when it can.
std::string group_name_problem(std::string_view name);

}  // namespace qetl
