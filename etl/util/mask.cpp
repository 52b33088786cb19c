#include "util/mask.hpp"

#include <regex>

namespace qetl {

std::string mask_warehouse_url(std::string_view url) {
  std::string s(url);
  // URI form: scheme://user:password@host
  static const std::regex uri_password(R"(^([A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*:)[^@/?#]*@)");
  s = std::regex_replace(s, uri_password, std::string("$1") + kMask + "@", std::regex_constants::format_first_only);
  // URI query form (?password=...) and conninfo form (password=... or password='...').
  static const std::regex kv_password(R"((password\s*=\s*)('([^'\\]|\\.)*'|[^\s&]*))", std::regex::icase);
  s = std::regex_replace(s, kv_password, std::string("$1") + kMask);
  return s;
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), kMask);
    pos += 4;
  }
  return text;
}

}  // namespace qetl
