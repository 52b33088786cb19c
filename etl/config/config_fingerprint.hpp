#pragma once
// config_sha256 (etl_runs): a fingerprint of the settings a run used, so two runs can be told
// apart by what they were asked to do. It hashes the parsed config, not the file: comments,
// layout and key order do not change it, and no secret is part of it (the warehouse URL is
// masked, API keys are only named by their source).
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace qetl {

// One "key=value" line per setting in a fixed order, texts quoted and escaped so that no two
// configs share a text. Leaves out the file's path and every secret.
std::string canonical_config_text(const Config& config);

// sha256_hex(canonical_config_text(config)).
std::string config_sha256(const Config& config);

// Lower-case hex SHA-256 (OpenSSL's libcrypto).
std::string sha256_hex(std::string_view bytes);

}  // namespace qetl
