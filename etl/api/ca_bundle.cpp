#include "api/ca_bundle.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/errors.hpp"

namespace qetl {

std::string system_ca_bundle_plus(const std::string& ca_file) {
  std::string bundle;
  if (CURL* probe = curl_easy_init()) {
    char* default_path = nullptr;
    if (curl_easy_getinfo(probe, CURLINFO_CAINFO, &default_path) == CURLE_OK && default_path != nullptr) {
      std::ifstream in(default_path, std::ios::binary);
      if (in) {
        std::ostringstream s;
        s << in.rdbuf();
        bundle = s.str() + "\n";
      }
    }
    curl_easy_cleanup(probe);
  }
  std::ifstream in(ca_file, std::ios::binary);
  if (!in) throw ConfigError("api.ca_file: cannot read " + ca_file + ": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return bundle + s.str();
}

}  // namespace qetl
