#include "warehouse/warehouse_url.hpp"

#include <cctype>

#include "util/errors.hpp"
#include "util/mask.hpp"

namespace qetl {
namespace {

constexpr std::string_view kSqliteScheme = "sqlite:";

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::optional<std::string> sqlite_url_problem(const std::string& url) {
  std::string_view path = std::string_view(url).substr(kSqliteScheme.size());
  if (starts_with(path, "//")) {
    if (path.size() < 3 || path[2] != '/') {
      return "ambiguous SQLite URL '" + url +
             "': use sqlite:///absolute/path.sqlite or sqlite:relative/path.sqlite";
    }
    path.remove_prefix(2);  // keep the path's leading '/'
  }
  if (path.empty()) return "SQLite URL '" + url + "' names no file: use sqlite:///absolute/path.sqlite";
  if (starts_with(path, ":memory:") || starts_with(path, "file:")) {
    return "SQLite URL '" + url +
           "' names an in-memory database or an SQLite URI: nothing would be kept after the run; "
           "name a file, e.g. sqlite:///var/lib/qonversion-etl/metrics.sqlite";
  }
  if (path.front() == '~') {
    return "SQLite URL '" + url +
           "' starts its path with '~', which nothing expands here (a folder named '~' would be "
           "created): write the absolute path";
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return "SQLite URL '" + url +
           "' has a ?query or #fragment, which would become part of the file name: a sqlite: URL "
           "takes a path only";
  }
  return std::nullopt;
}

std::optional<std::string> pg_target_problem(const std::string& url) {
  const std::optional<PgTarget> parsed = parse_pg_target(url);
  if (!parsed) {
    return std::string(is_pg_uri(url) ? "PostgreSQL URL" : "PostgreSQL connection string") +
           " that libpq cannot parse (not shown: it may hold the password); check its keywords, quoting "
           "and %-escapes (a '%' in a password is written %25)";
  }
  if (auto ambiguity = pg_uri_ambiguity(*parsed)) return "PostgreSQL URL " + mask_warehouse_url(url) + ": " + *ambiguity;
  return std::nullopt;
}

}  // namespace

const char* const kWarehouseUrlForms =
    "sqlite:///absolute/path.sqlite, sqlite:relative/path.sqlite, postgresql://user@host/dbname "
    "(or postgres://...), or a libpq conninfo string such as 'host=db.internal dbname=analytics'";

bool is_pg_conninfo(std::string_view target) {
  std::size_t i = 0;
  while (i < target.size() && std::isspace(static_cast<unsigned char>(target[i]))) ++i;
  const std::size_t start = i;
  while (i < target.size() && (std::isalnum(static_cast<unsigned char>(target[i])) || target[i] == '_')) ++i;
  if (i == start) return false;
  while (i < target.size() && std::isspace(static_cast<unsigned char>(target[i]))) ++i;
  return i < target.size() && target[i] == '=';
}

std::optional<std::string> warehouse_url_problem(const std::string& url) {
  if (url.empty()) return std::string("warehouse URL is empty: use ") + kWarehouseUrlForms;
  if (starts_with(url, kSqliteScheme)) return sqlite_url_problem(url);
  if (is_pg_uri(url) || is_pg_conninfo(url)) return pg_target_problem(url);
  return "unsupported warehouse URL '" + mask_warehouse_url(url) + "': use " + kWarehouseUrlForms;
}

std::string sqlite_path_from_url(const std::string& url) {
  if (!starts_with(url, kSqliteScheme)) throw ConfigError("not a sqlite: URL: " + mask_warehouse_url(url));
  if (auto problem = sqlite_url_problem(url)) throw ConfigError(*problem);
  std::string path = url.substr(kSqliteScheme.size());
  return starts_with(path, "//") ? path.substr(2) : path;
}

}  // namespace qetl
