#pragma once
// What the end-to-end tests share: a mock API, a config written for it, the binary, and the
// mock's record of every answer it gave.
#include <rapidjson/document.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/mock_api_server.hpp"
#include "common/process.hpp"
#include "common/temp_dir.hpp"

namespace qetl::test {

// Obviously fake keys (the real ones are 32 alphanumerics).
inline const std::string kKeyAlpha = "e2e_key_alpha_0123";
inline const std::string kKeyBeta = "e2e_key_beta_01234";

// The same request as the mock saw it: key, environment, bounds and sorted filters.
inline std::string request_identity(const std::string& key, long environment, long long from, long long to,
                                    const std::map<std::string, std::vector<std::string>>& filters,
                                    const std::string& search) {
  std::ostringstream s;
  s << key << '|' << environment << '|' << from << '|' << to << '|';
  for (const auto& [dim, values] : filters) {
    std::vector<std::string> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    s << dim << '=';
    for (const auto& v : sorted) s << v << ',';
    s << ';';
  }
  s << "search=" << search;
  return s.str();
}

struct LoggedAnswer {
  int status = 0;
  std::string body;
};

// identity -> the last answer the mock gave for it, from --answer-log.
inline std::map<std::string, LoggedAnswer> read_answer_log(const std::string& path) {
  std::map<std::string, LoggedAnswer> answers;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(line.c_str());  // some answers nest 150,000 deep
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("since") || !d["since"].IsArray()) continue;
    std::map<std::string, std::vector<std::string>> filters;
    if (d.HasMember("filters") && d["filters"].IsObject()) {
      for (auto it = d["filters"].MemberBegin(); it != d["filters"].MemberEnd(); ++it) {
        for (const auto& v : it->value.GetArray()) filters[it->name.GetString()].push_back(v.GetString());
      }
    }
    const std::string search = d.HasMember("search") && d["search"].IsString() ? d["search"].GetString() : "";
    const std::string id = request_identity(d["key"].GetString(), d["environment"].GetInt64(),
                                            d["since"][0].GetInt64(), d["since"][1].GetInt64(), filters, search);
    LoggedAnswer a;
    a.status = d["status"].IsInt() ? d["status"].GetInt() : 0;
    a.body = d["body"].IsString() ? d["body"].GetString() : "";
    answers[id] = a;
  }
  return answers;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace qetl::test
