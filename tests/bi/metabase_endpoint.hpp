#pragma once
// Runs tests/bi/metabase_endpoint.py (a stand-in for Metabase's /api/notify/db/{id}) on a free
// port for one test, and reads back what it received. Shared by bi_tests and the end-to-end
// tests.
//
//   MetabaseEndpoint metabase("mb_key", 7);                     // answers 200 to a valid POST
//   bi.metabase_url = metabase.url();                           // http://127.0.0.1:<port>
//   ...
//   EXPECT_EQ(metabase.stats().valid_notifications, 1);
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/mock_api_server.hpp"

#ifndef QETL_SOURCE_DIR
#define QETL_SOURCE_DIR "."
#endif

namespace qetl::test {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
  bool key_matches = false;
  std::string verdict;  // "ok", or why the request was refused
  int status = 0;       // what the endpoint answered
};

struct EndpointStats {
  int requests_total = 0;
  int valid_notifications = 0;
  std::vector<ReceivedRequest> requests;
};

class MetabaseEndpoint {
 public:
  // `extra`: more flags of the script (--prefix, --status, --hang-seconds, --echo-key, ...).
  MetabaseEndpoint(const std::string& key, std::int64_t database_id, std::vector<std::string> extra = {})
      : server_(arguments(key, database_id, std::move(extra)), QETL_PYTHON,
                std::string(QETL_SOURCE_DIR) + "/tests/bi/metabase_endpoint.py") {}

  int port() const { return server_.port(); }
  // "http://127.0.0.1:<port>" ("https://..." with --tls-cert): what metabase_url takes.
  std::string url() const { return server_.origin(); }

  // Not available with --tls-cert (the control endpoint is plain HTTP).
  EndpointStats stats() const {
    rapidjson::Document d;
    d.Parse(server_.stats_json().c_str());
    if (d.HasParseError() || !d.IsObject()) throw std::runtime_error("MetabaseEndpoint: unreadable /__stats");
    EndpointStats s;
    s.requests_total = d["requests_total"].GetInt();
    s.valid_notifications = d["valid_notifications"].GetInt();
    for (const auto& r : d["requests"].GetArray()) {
      ReceivedRequest q;
      q.method = r["method"].GetString();
      q.path = r["path"].GetString();
      q.content_type = r["content_type"].GetString();
      q.body = r["body"].GetString();
      q.key_matches = r["key_matches"].GetBool();
      q.verdict = r["verdict"].GetString();
      q.status = r["status"].GetInt();
      s.requests.push_back(std::move(q));
    }
    return s;
  }

  std::string log_text() const { return server_.log_text(); }

 private:
  static std::vector<std::string> arguments(const std::string& key, std::int64_t database_id,
                                            std::vector<std::string> extra) {
    std::vector<std::string> args{"--key", key, "--database-id", std::to_string(database_id)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  MockApiServer server_;
};

// A port on 127.0.0.1 that was free a moment ago: nothing listens there.
inline int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace qetl::test
