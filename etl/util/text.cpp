#include "util/text.hpp"

#include "util/mask.hpp"

namespace qetl {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629, Unicode table 3-7), or 0.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3, lo = 0xA0;
  } else if (c == 0xED) {
    len = 3, hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xE1 && c <= 0xEF) {
    len = 3;
  } else if (c == 0xF0) {
    len = 4, lo = 0x90;
  } else if (c == 0xF4) {
    len = 4, hi = 0x8F;  // nothing past U+10FFFF
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// C1 controls U+0080..U+009F are encoded C2 80..C2 9F.
bool is_c1_control(std::string_view text, std::size_t i, std::size_t len) {
  return len == 2 && static_cast<unsigned char>(text[i]) == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
}

}  // namespace

std::string percent_encode(std::string_view text, std::string_view keep, HexCase hex) {
  const char* digits = hex == HexCase::upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool as_is = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       keep.find(ch) != std::string_view::npos;
    if (as_is) {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xF];
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = sequence_length(text, i);
    if (len == 0) {
      out += kReplacement;
      i += 1;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string clean_text(std::string_view raw, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(raw.size(), max_bytes) + 3);
  bool blank_pending = false;
  bool cut = false;
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t len = sequence_length(raw, i);
    std::string_view piece;
    if (len == 0) {
      piece = kReplacement;
      i += 1;
    } else {
      const auto c = static_cast<unsigned char>(raw[i]);
      const bool blank = (len == 1 && (c < 0x20 || c == 0x7F || c == ' ')) || is_c1_control(raw, i, len);
      if (blank) {
        blank_pending = !out.empty();
        i += len;
        continue;
      }
      piece = raw.substr(i, len);
      i += len;
    }
    const std::size_t need = piece.size() + (blank_pending ? 1 : 0);
    if (out.size() + need > max_bytes) {
      cut = true;
      break;
    }
    if (blank_pending) out += ' ';
    blank_pending = false;
    out += piece;
  }
  if (cut) out += "...";
  return out;
}

std::string cut_out_secret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  text = redact(std::move(text), secret);
  std::string json_escaped;
  for (const char c : secret) json_escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  for (const std::string& form :
       {json_escaped, percent_encode(secret), percent_encode(secret, "-._~", HexCase::lower)}) {
    if (form != secret) text = redact(std::move(text), form);
  }
  return text;
}

}  // namespace qetl
