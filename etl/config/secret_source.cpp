// resolve_secret: the API key from an environment variable, a file or a systemd credential.
// Messages name where the key was looked for, never what was found.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "config/config.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {

// An API key is 32 characters; anything this large is the wrong file.
constexpr std::size_t kMaxKeyFileBytes = 4096;

[[noreturn]] void fail(const SecretSource& source, const std::string& what) {
  throw ConfigError(source.where.str() + ": " + what);
}

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string describe(const SecretSource& source) {
  switch (source.kind) {
    case SecretSource::Kind::env: return "environment variable " + source.name;
    case SecretSource::Kind::file: return "file " + source.name;
    case SecretSource::Kind::credential: return "credential " + source.name;
  }
  return source.name;
}

std::string read_key_file(const SecretSource& source, const std::string& path) {
  const std::string what = describe(source) + (path == source.name ? "" : " (" + path + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(source, "cannot read the " + source.what + " from " + what + ": " + std::strerror(errno));
  std::string bytes(kMaxKeyFileBytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) fail(source, "cannot read the " + source.what + " from " + what + ": " + std::strerror(errno));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > kMaxKeyFileBytes) {
    fail(source, "the " + source.what + " " + what + " is larger than " + std::to_string(kMaxKeyFileBytes) + " bytes: not an " + source.what);
  }
  return bytes;
}

std::string raw_secret(const SecretSource& source) {
  switch (source.kind) {
    case SecretSource::Kind::env: {
      const char* value = std::getenv(source.name.c_str());
      if (value == nullptr) fail(source, "environment variable " + source.name + " is not set");
      return value;
    }
    case SecretSource::Kind::file: return read_key_file(source, source.name);
    case SecretSource::Kind::credential: {
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (dir == nullptr || *dir == '\0') {
        fail(source, "credential " + source.name +
                         " needs systemd LoadCredential= (CREDENTIALS_DIRECTORY is not set); outside systemd use "
                         "api_key = { env = ... } or { file = ... }");
      }
      return read_key_file(source, std::string(dir) + "/" + source.name);
    }
  }
  fail(source, "unknown API key source");
}

}  // namespace

std::string resolve_secret(const SecretSource& source) {
  const std::string raw = raw_secret(source);
  std::size_t begin = 0, end = raw.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(raw[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(raw[end - 1]))) --end;
  std::string key = raw.substr(begin, end - begin);
  if (key.empty()) fail(source, "the " + source.what + " from " + describe(source) + " is empty");
  for (char c : key) {
    if (source.strict_charset && !is_key_char(c)) {
      fail(source, "the " + source.what + " from " + describe(source) +
                       " contains characters other than A-Z, a-z, 0-9, '_' and '-': is it the right source?");
    }
    if (!source.strict_charset && (c <= ' ' || c > '~')) {
      fail(source, "the " + source.what + " from " + describe(source) +
                       " contains spaces or characters outside printable ASCII: is it the right source?");
    }
  }
  if (key.size() < kMinSecretLength) {
    fail(source, "the " + source.what + " from " + describe(source) + " is only " + std::to_string(key.size()) +
                     " characters long, shorter than any real key (at least " + std::to_string(kMinSecretLength) +
                     "): is it the right source?");
  }
  return key;
}

}  // namespace qetl
