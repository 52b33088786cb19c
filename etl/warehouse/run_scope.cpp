#include "warehouse/run_scope.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "warehouse/shard_overlap.hpp"

namespace qetl {

std::string projects_json(const std::vector<std::string>& projects) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  writer.StartArray();
  for (const std::string& p : projects) writer.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
  writer.EndArray();
  return out.GetString();
}

std::optional<std::vector<std::string>> parse_projects_json(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& v : doc.GetArray()) {
    if (!v.IsString()) return std::nullopt;
    names.emplace_back(v.GetString(), v.GetStringLength());
  }
  return names;
}

bool stale_row_in_scope(const std::string& row_projects_json, const std::string& row_shard,
                        const std::vector<std::string>& projects, const std::string& shard) {
  const auto row_projects = parse_projects_json(row_projects_json);
  if (!row_projects) return false;
  const bool shared = std::any_of(row_projects->begin(), row_projects->end(), [&](const std::string& p) {
    return std::find(projects.begin(), projects.end(), p) != projects.end();
  });
  return shared && shards_overlap(row_shard, shard);
}

std::string stale_run_message(const std::string& finder_run_id) {
  return "process gone: found still running by run " + finder_run_id;
}

}  // namespace qetl
