#pragma once
// What the API accepts for each filter dimension (API.md), checked before any request.
#include <cstddef>
#include <string>
#include <string_view>

namespace qetl {

// The API's limit on the universal search text.
inline constexpr std::size_t kMaxSearchLength = 255;

// Why `value` cannot be sent as a `dimension` filter, or "" when it can. The message quotes the
// value (filter values are not secret).
std::string dimension_value_problem(std::string_view dimension, std::string_view value);

}  // namespace qetl
