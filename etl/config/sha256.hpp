#pragma once
// SHA-256 (FIPS 180-4) of a byte string, for config_sha256 in etl_runs: lets a reader tell
// which config produced a run without storing the config itself. Not for secrets.
#include <string>
#include <string_view>

namespace qetl {

// Lowercase hex, 64 characters.
std::string sha256_hex(std::string_view bytes);

}  // namespace qetl
