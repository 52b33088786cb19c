#include "config/dimension_values.hpp"

#include "config/text_value.hpp"

namespace qetl {
namespace {

bool is_upper_code(std::string_view value, std::size_t length) {
  if (value.size() != length) return false;
  for (char c : value) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

std::string q(std::string_view value) { return "\"" + std::string(value) + "\""; }

// Printable UTF-8 of at most kMaxValueLength characters, or why not.
std::string label_problem(std::string_view label) {
  std::string problem = text_problem(label);
  if (problem.empty() && utf8_length(label) > kMaxValueLength) {
    problem = "is " + std::to_string(utf8_length(label)) + " characters long, at most " + std::to_string(kMaxValueLength) +
              " are allowed";
  }
  return problem;
}

}  // namespace

std::string dimension_value_problem(std::string_view dimension, std::string_view value) {
  if (value.empty()) return "empty value";
  // First: the messages below quote the value, which must then be printable.
  std::string problem = text_problem(value);
  if (!problem.empty()) return problem;
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
  return label_problem(value);
}

std::string group_name_problem(std::string_view name) { return label_problem(name); }

}  // namespace qetl
