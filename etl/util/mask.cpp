#include "util/mask.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "util/text.hpp"

namespace qetl {
namespace {

constexpr std::string_view kPgSchemes[] = {"postgresql://", "postgres://"};

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Only to compare query keywords with "password"; a bad escape stays as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A conninfo value as libpq reads it back: bare when that is unambiguous, else single-quoted
// with backslash escapes.
std::string conninfo_value(const std::string& value) {
  const bool bare = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\';
  });
  if (bare) return value;
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The scheme of "scheme://..." (letters, digits, '+', '-', '.'), or empty.
std::string_view url_scheme(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0 || !std::isalpha(static_cast<unsigned char>(url[0]))) return {};
  for (std::size_t i = 0; i < sep; ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return url.substr(0, sep + 3);
}

// "a=1&password=x&b=2" -> "a=1&password=****&b=2"; the raw values masked are added to `raw`.
std::string mask_query(std::string_view query, std::vector<std::string>* raw) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t amp = query.find('&', start);
    const std::string_view param = query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && percent_decode(param.substr(0, eq)) == "password") {
      out += std::string(param.substr(0, eq + 1)) + kMask;
      if (raw != nullptr) raw->emplace_back(param.substr(eq + 1));
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    out += '&';
    start = amp + 1;
  }
  return out;
}

// What the URI looks like with the password replaced, in the user info and in the query. The
// user info ends at the first '@' met before any '/', exactly where libpq ends it (the caller
// has checked with pg_uri_ambiguity that this is also where the user meant it to end).
std::string masked_uri(std::string_view url, std::string_view scheme, std::vector<std::string>* raw) {
  const std::string_view rest = url.substr(scheme.size());
  std::string out(scheme);
  std::size_t host_at = 0;
  const std::size_t stop = rest.find_first_of("@/");
  if (stop != std::string_view::npos && rest[stop] == '@') {
    const std::string_view userinfo = rest.substr(0, stop);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      out += userinfo;
    } else {
      out += std::string(userinfo.substr(0, colon + 1)) + kMask;
      if (raw != nullptr) raw->emplace_back(userinfo.substr(colon + 1));
    }
    out += '@';
    host_at = stop + 1;
  }
  const std::string_view tail = rest.substr(host_at);
  const std::size_t q = tail.find('?');
  if (q == std::string_view::npos) return out + std::string(tail);
  return out + std::string(tail.substr(0, q + 1)) + mask_query(tail.substr(q + 1), raw);
}

// Any other scheme://user:password@host URL (e.g. a BI tool's address). Without a parser of
// its own scheme at hand, everything between the first ':' after "//" and the last '@' is
// taken for the password: that may hide more than the password, never less.
std::string masked_generic_url(std::string_view url, std::string_view scheme, std::vector<std::string>* raw) {
  const std::string_view rest = url.substr(scheme.size());
  const std::size_t at = rest.rfind('@');
  std::string out(scheme);
  std::size_t from = 0;
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out += std::string(userinfo.substr(0, colon + 1)) + kMask;
      if (raw != nullptr) raw->emplace_back(userinfo.substr(colon + 1));
      from = at;
    }
  }
  const std::string_view tail = rest.substr(from);
  const std::size_t q = tail.find('?');
  if (q == std::string_view::npos) return out + std::string(tail);
  return out + std::string(tail.substr(0, q + 1)) + mask_query(tail.substr(q + 1), raw);
}

std::string conninfo_display(const PgTarget& target) {
  std::string out;
  for (const auto& [keyword, value] : target.options) {
    if (!out.empty()) out += ' ';
    out += keyword + "=" + (keyword == "password" ? std::string(kMask) : conninfo_value(value));
  }
  return out;
}

struct Shown {
  std::string text;
  std::vector<std::string> secrets;  // every form of the password met while masking
};

Shown show(std::string_view url) {
  Shown shown;
  if (starts_with(url, "sqlite:")) {
    shown.text = std::string(url);
    return shown;
  }
  for (const std::string_view scheme : kPgSchemes) {
    if (!starts_with(url, scheme)) continue;
    const std::optional<PgTarget> parsed = parse_pg_target(url);
    if (!parsed || pg_uri_ambiguity(*parsed)) {
      shown.text = std::string(scheme) + kMask;
      return shown;
    }
    shown.text = masked_uri(url, scheme, &shown.secrets);
    if (auto password = parsed->option("password")) shown.secrets.push_back(*password);
    return shown;
  }
  const std::string_view scheme = url_scheme(url);
  if (!scheme.empty()) {
    shown.text = masked_generic_url(url, scheme, &shown.secrets);
    return shown;
  }
  if (const std::optional<PgTarget> parsed = parse_pg_target(url)) {
    shown.text = conninfo_display(*parsed);
    if (auto password = parsed->option("password")) shown.secrets.push_back(*password);
    return shown;
  }
  // Neither a URL nor a conninfo string libpq can read: plain words or a path may be shown, text
  // that could hold a password (key=value, user@host, quotes) may not.
  const bool may_hold_secret = url.find_first_of("=@'\"") != std::string_view::npos;
  shown.text = may_hold_secret ? std::string(kMask) : std::string(url);
  return shown;
}

// The secrets with their other spellings added (percent-decoded values are what libpq sends;
// the encoded and conninfo-escaped forms are how they may be quoted back), longest first so
// that a secret containing another is masked whole.
std::vector<std::string> every_form(std::vector<std::string> secrets) {
  std::vector<std::string> forms;
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    forms.push_back(s);
    forms.push_back(percent_encode(s));
    forms.push_back(percent_decode(s));
    std::string escaped = conninfo_value(s);
    if (escaped.size() >= 2 && escaped.front() == '\'') escaped = escaped.substr(1, escaped.size() - 2);
    forms.push_back(escaped);
  }
  std::sort(forms.begin(), forms.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  forms.erase(std::unique(forms.begin(), forms.end()), forms.end());
  forms.erase(std::remove(forms.begin(), forms.end(), std::string()), forms.end());
  return forms;
}

}  // namespace

std::optional<std::string> PgTarget::option(std::string_view keyword) const {
  for (const auto& [k, v] : options) {
    if (k == keyword) return v;
  }
  return std::nullopt;
}

bool is_pg_uri(std::string_view target) {
  return std::any_of(std::begin(kPgSchemes), std::end(kPgSchemes),
                     [&](std::string_view scheme) { return starts_with(target, scheme); });
}

std::optional<PgTarget> parse_pg_target(std::string_view target) {
  if (target.find('\0') != std::string_view::npos) return std::nullopt;  // libpq would read a prefix
  char* error = nullptr;
  const std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(
      PQconninfoParse(std::string(target).c_str(), &error), PQconninfoFree);
  if (error != nullptr) PQfreemem(error);
  if (!options) return std::nullopt;
  PgTarget parsed;
  parsed.uri = is_pg_uri(target);
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr) parsed.options.emplace_back(o->keyword, o->val);
  }
  return parsed;
}

std::string pg_conninfo(const PgTarget& target) {
  std::string out;
  for (const auto& [keyword, value] : target.options) {
    if (!out.empty()) out += ' ';
    out += keyword + "=" + conninfo_value(value);
  }
  return out;
}

std::optional<std::string> pg_uri_ambiguity(const PgTarget& parsed) {
  if (!parsed.uri) return std::nullopt;
  const auto has_at = [&](const char* keyword) {
    const auto value = parsed.option(keyword);
    return value && value->find('@') != std::string::npos;
  };
  const auto port = parsed.option("port");
  const bool odd_port =
      port && std::any_of(port->begin(), port->end(), [](char c) { return !std::isdigit(static_cast<unsigned char>(c)) && c != ','; });
  if (has_at("host") || has_at("hostaddr") || has_at("dbname") || odd_port) {
    return std::string(
        "libpq would read part of the user name or password as the host, port or database name "
        "(an unescaped '@' or '/' in them): percent-encode '@' as %40 and '/' as %2F, or use the "
        "key=value form (host=... user=... password='...')");
  }
  return std::nullopt;
}

std::string mask_warehouse_url(std::string_view url) {
  Shown shown = show(url);
  for (const std::string& secret : every_form(shown.secrets)) shown.text = redact(std::move(shown.text), secret);
  return shown.text;
}

std::string mask_warehouse_text(std::string text, std::string_view url) {
  std::vector<std::string> secrets = show(url).secrets;
  secrets.emplace_back(url);
  for (const std::string& secret : every_form(std::move(secrets))) text = redact(std::move(text), secret);
  return text;
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
