#pragma once
// warehouse.url as text: which backend it names and whether it can make a good night, decided
// before anything is connected to or created (pure: no file, no network).
#include <optional>
#include <string>
#include <string_view>

namespace qetl {

// The forms warehouse.url accepts, for error messages.
extern const char* const kWarehouseUrlForms;

// True for a libpq key/value connection string ("host=db dbname=analytics ..."): it starts
// with a keyword followed by '='.
bool is_pg_conninfo(std::string_view target);

// Why `url` cannot be used, as one line that never quotes a PostgreSQL target (it may hold the
// password); nullopt when it can. Refused: an empty URL; an unknown scheme (listing the valid
// ones); a sqlite: URL that would keep nothing (":memory:", "file:" URIs), land somewhere
// unexpected (a leading '~': nothing expands it here; a ?query or #fragment, which would become
// part of the file name; "sqlite://host/...") or names no file; a PostgreSQL target that libpq
// cannot parse or whose user info it would split elsewhere than meant (see pg_uri_ambiguity).
std::optional<std::string> warehouse_url_problem(const std::string& url);

// The file a sqlite: URL names:
//   sqlite:///abs/path.sqlite  -> /abs/path.sqlite  (empty authority, as in file:///)
//   sqlite:relative/path.sqlite -> relative/path.sqlite (relative to the working directory)
//   sqlite:/abs/path.sqlite    -> /abs/path.sqlite
// The path is taken literally (no %-decoding). Throws ConfigError with warehouse_url_problem()'s
// text for a URL it refuses.
std::string sqlite_path_from_url(const std::string& url);

}  // namespace qetl
