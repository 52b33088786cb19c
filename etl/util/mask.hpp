#pragma once
// The one place secrets are blanked before anything is printed or stored. Warehouse passwords
// are found by libpq's own parser (PQconninfoParse), never by pattern: a password may hold
// '@', '/', '#', '?', quotes or spaces, and only the parser libpq connects with knows where it
// ends.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qetl {

inline constexpr const char* kMask = "****";

// A PostgreSQL target (a postgresql:// or postgres:// URI, or a libpq key=value conninfo string)
// as libpq reads it.
struct PgTarget {
  bool uri = false;  // written as a URI (else conninfo)
  // The options the target sets, percent-decoded and unquoted, in libpq's keyword order.
  std::vector<std::pair<std::string, std::string>> options;

  std::optional<std::string> option(std::string_view keyword) const;
};

// True for text starting with "postgresql://" or "postgres://" (libpq's URI prefixes).
bool is_pg_uri(std::string_view target);

// libpq's reading of `target`; nullopt when libpq cannot parse it. Its error text is dropped on
// purpose: it may quote the whole target, password included.
std::optional<PgTarget> parse_pg_target(std::string_view target);

// The target as a conninfo string libpq reads back as the same options (values quoted where
// needed), password included: for connecting, never for showing.
std::string pg_conninfo(const PgTarget& target);

// Why a parsed URI cannot be trusted to say where its password ends: libpq put an '@' in the
// host or database name (a user name or password with an unescaped '@' or '/'), or read a port
// that is not a number (a password with '/' but no '@'). Such a URI would connect somewhere
// unintended and libpq's errors would print pieces of the password. nullopt when fine (always
// for the conninfo form, whose quoting leaves no doubt).
std::optional<std::string> pg_uri_ambiguity(const PgTarget& parsed);

// A warehouse URL as it may be shown:
//   postgresql://etl:secret@db/x?sslmode=require -> postgresql://etl:****@db/x?sslmode=require
//   (a password=... query parameter is masked too);
//   host=db password='a b' dbname=x -> rebuilt from libpq's reading, password=****;
//   a PostgreSQL target libpq cannot parse, or an ambiguous URI -> "postgresql://****" (the
//   scheme only) or "****" for conninfo text;
//   sqlite: URLs unchanged; other scheme://user:password@host URLs with the user info masked.
std::string mask_warehouse_url(std::string_view url);

// `text` (a libpq or libpqxx message about a connection to `url`) with every form of `url`'s
// password replaced by "****" — as written in the URL, percent-decoded and percent-encoded —
// and `url` itself wherever it is quoted whole.
std::string mask_warehouse_text(std::string text, std::string_view url);

// Replaces every occurrence of `secret` in `text` by "****" (no-op for an empty secret).
// A last line of defence for messages that may echo a URL (e.g. libcurl errors).
std::string redact(std::string text, std::string_view secret);

}  // namespace qetl
