#include "config/text_value.hpp"

#include <cstdint>
#include <cstdio>

namespace qetl {
namespace {

const char* const kRule = ": names and values must be printable UTF-8 text";

std::string invalid_at(std::size_t index) {
  return "is not valid UTF-8 (at byte " + std::to_string(index + 1) + ")" + kRule;
}

}  // namespace

std::string text_problem(std::string_view text) {
  // Lowest code point each sequence length may encode (shorter forms are overlong).
  static const std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      length = 1, cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, cp = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, cp = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, cp = lead & 0x07u;
    } else {
      return invalid_at(i);
    }
    if (i + length > text.size()) return invalid_at(i);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return invalid_at(i);
      cp = (cp << 6) | (next & 0x3Fu);
    }
    if (cp < kMinimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid_at(i);
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      char name[8];
      std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
      return "contains the control character " + std::string(name) + " at byte " + std::to_string(i + 1) + kRule;
    }
    i += length;
  }
  return "";
}

std::string quoted_for_message(std::string_view text) {
  std::string out = "\"";
  char escape[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (byte < 0x20 || byte == 0x7F) {
      std::snprintf(escape, sizeof escape, "\\x%02X", byte);
      out += escape;
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {  // C1 control character
      std::snprintf(escape, sizeof escape, "\\u%04X", next);
      out += escape;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out + "\"";
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace qetl
