#pragma once
// A run's scope as etl_runs stores it (projects: JSON array of names; shard: "K/N" or "all"),
// and which `running` rows the run holding a scope's locks may close as stale.
#include <optional>
#include <string>
#include <vector>

namespace qetl {

// ["alpha","my \"app\""]: valid JSON whatever the names hold (RapidJSON's writer).
std::string projects_json(const std::vector<std::string>& projects);

// The names of a JSON array of strings; nullopt for anything else.
std::optional<std::vector<std::string>> parse_projects_json(const std::string& json);

// True when a `running` row of scope (row_projects_json, row_shard) is covered by the locks of a
// run of scope (projects, shard): a project in common and shards that overlap. A row whose scope
// is unknown (projects "[]", the default of rows written before the scope was recorded, or text
// that is not a JSON array of names) is never covered: closing a live run would be worse than
// leaving a dead one.
bool stale_row_in_scope(const std::string& row_projects_json, const std::string& row_shard,
                        const std::vector<std::string>& projects, const std::string& shard);

// etl_runs.message of a row closed as stale.
std::string stale_run_message(const std::string& finder_run_id);

}  // namespace qetl
