#include "config/dimension_values.hpp"

namespace qetl {
namespace {

bool is_upper_code(std::string_view value, std::size_t length) {
  if (value.size() != length) return false;
  for (char c : value) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// Characters, not bytes: UTF-8 continuation bytes (10xxxxxx) do not start a character.
std::size_t utf8_length(std::string_view value) {
  std::size_t n = 0;
  for (char c : value) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string q(std::string_view value) { return "\"" + std::string(value) + "\""; }

}  // namespace

std::string dimension_value_problem(std::string_view dimension, std::string_view value) {
  if (value.empty()) return "empty value";
  if (dimension == "status") {
    if (value == "1" || value == "2" || value == "3" || value == "4") return "";
    return q(value) + " is not a status: use 1 (trial/intro), 2 (active), 3 (canceled) or 4 (billing retry)";
  }
  if (dimension == "target_platform") {
    if (value == "iOS" || value == "Android" || value == "Stripe") return "";
    return q(value) + " is not a target platform: use iOS, Android or Stripe";
  }
  if (dimension == "country") return is_upper_code(value, 2) ? "" : q(value) + " does not match ^[A-Z]{2}$";
  if (dimension == "purchase_currency") return is_upper_code(value, 3) ? "" : q(value) + " does not match ^[A-Z]{3}$";
  if (dimension == "search" && utf8_length(value) > kMaxSearchLength) {
    return "search text is " + std::to_string(utf8_length(value)) + " characters long, the API takes at most " +
           std::to_string(kMaxSearchLength);
  }
  return "";
}

}  // namespace qetl
