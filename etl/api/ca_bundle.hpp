#pragma once
// `ca_file` adds a CA to the system's bundle: CURLOPT_CAINFO would replace the system bundle,
// so both are handed to libcurl together as one in-memory bundle (CURLOPT_CAINFO_BLOB). Used by
// the API client and the Metabase notification alike.
#include <string>

namespace qetl {

// libcurl's default CA bundle followed by the file `ca_file`. Throws ConfigError
// ("api.ca_file: cannot read PATH: reason") when `ca_file` cannot be read.
std::string system_ca_bundle_plus(const std::string& ca_file);

}  // namespace qetl
