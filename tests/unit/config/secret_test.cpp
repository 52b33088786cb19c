// resolve_secret: env, file and systemd credential sources; messages never contain the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <optional>

#include "common/temp_dir.hpp"
#include "config/config.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kKey = "JFPATc4VaaWYsfurml3qZ4zsmNw0VfWH";

// Sets (or unsets) an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value != nullptr) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

SecretSource source(SecretSource::Kind kind, const std::string& name) {
  SecretSource s;
  s.kind = kind;
  s.name = name;
  s.where = SourceLocation{"c.toml", 7, "project[0].api_key"};
  return s;
}

std::string secret_error(const SecretSource& s) {
  try {
    resolve_secret(s);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST(SecretEnv, ReadsAndTrims) {
  ScopedEnv env("QETL_TEST_KEY", (std::string("  ") + kKey + "\n").c_str());
  EXPECT_EQ(resolve_secret(source(SecretSource::Kind::env, "QETL_TEST_KEY")), kKey);
}

TEST(SecretEnv, MissingOrEmpty) {
  {
    ScopedEnv env("QETL_TEST_KEY", nullptr);
    EXPECT_EQ(secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY")),
              "c.toml:7:project[0].api_key: environment variable QETL_TEST_KEY is not set");
  }
  {
    ScopedEnv env("QETL_TEST_KEY", "");
    EXPECT_EQ(secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY")),
              "c.toml:7:project[0].api_key: the API key from environment variable QETL_TEST_KEY is empty");
  }
  {
    ScopedEnv env("QETL_TEST_KEY", " \t\n");
    EXPECT_EQ(secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY")),
              "c.toml:7:project[0].api_key: the API key from environment variable QETL_TEST_KEY is empty");
  }
}

TEST(SecretEnv, BadCharactersAreRefusedWithoutShowingTheKey) {
  const std::string bad = std::string(kKey) + "\"x";
  ScopedEnv env("QETL_TEST_KEY", bad.c_str());
  const std::string message = secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY"));
  EXPECT_EQ(message,
            "c.toml:7:project[0].api_key: the API key from environment variable QETL_TEST_KEY contains characters "
            "other than A-Z, a-z, 0-9, '_' and '-': is it the right source?");
  EXPECT_THAT(message, Not(HasSubstr("JFPATc4")));
}

TEST(SecretEnv, InnerWhitespaceIsABadCharacter) {
  ScopedEnv env("QETL_TEST_KEY", "abcdefgh ijklmnopq");
  const std::string message = secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY"));
  EXPECT_THAT(message, HasSubstr("contains characters other than"));
  EXPECT_THAT(message, Not(HasSubstr("abcdefgh")));
}

// Masking a one-character key would blank that character in every message; no real key is short.
TEST(SecretEnv, ImplausiblyShortKeysAreRefusedWithoutShowingThem) {
  {
    ScopedEnv env("QETL_TEST_KEY", "o");
    const std::string message = secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY"));
    EXPECT_EQ(message,
              "c.toml:7:project[0].api_key: the API key from environment variable QETL_TEST_KEY is only 1 characters "
              "long, shorter than any real key (at least 16): is it the right source?");
    EXPECT_THAT(message, Not(HasSubstr(": o")));
  }
  {
    ScopedEnv env("QETL_TEST_KEY", " 0123456789abcde\n");  // 15 once trimmed
    EXPECT_EQ(secret_error(source(SecretSource::Kind::env, "QETL_TEST_KEY")),
              "c.toml:7:project[0].api_key: the API key from environment variable QETL_TEST_KEY is only 15 characters "
              "long, shorter than any real key (at least 16): is it the right source?");
  }
  {
    ScopedEnv env("QETL_TEST_KEY", "0123456789abcdef");  // 16: the shortest accepted
    EXPECT_EQ(resolve_secret(source(SecretSource::Kind::env, "QETL_TEST_KEY")), "0123456789abcdef");
  }
  {
    ScopedEnv env("QETL_TEST_KEY", "demo_key_project_a");  // the bundled mock's keys
    EXPECT_EQ(resolve_secret(source(SecretSource::Kind::env, "QETL_TEST_KEY")), "demo_key_project_a");
  }
}

TEST(SecretFile, ShortKeyFileNamesTheFile) {
  test::TempDir dir;
  write_file(dir.file("key"), "abc\n");
  SecretSource s = source(SecretSource::Kind::file, dir.file("key"));
  s.what = "Metabase API key";
  s.strict_charset = false;
  EXPECT_EQ(secret_error(s), "c.toml:7:project[0].api_key: the Metabase API key from file " + dir.file("key") +
                                 " is only 3 characters long, shorter than any real key (at least 16): is it the right "
                                 "source?");
}

TEST(SecretFile, ReadsAndTrims) {
  test::TempDir dir;
  write_file(dir.file("key"), std::string(kKey) + "\r\n");
  EXPECT_EQ(resolve_secret(source(SecretSource::Kind::file, dir.file("key"))), kKey);
  write_file(dir.file("dashes"), "demo_key-project_a");
  EXPECT_EQ(resolve_secret(source(SecretSource::Kind::file, dir.file("dashes"))), "demo_key-project_a");
}

TEST(SecretFile, MissingEmptyTooLargeOrBad) {
  test::TempDir dir;
  const std::string missing = dir.file("missing");
  EXPECT_EQ(secret_error(source(SecretSource::Kind::file, missing)),
            "c.toml:7:project[0].api_key: cannot read the API key from file " + missing + ": No such file or directory");
  write_file(dir.file("empty"), "\n");
  EXPECT_EQ(secret_error(source(SecretSource::Kind::file, dir.file("empty"))),
            "c.toml:7:project[0].api_key: the API key from file " + dir.file("empty") + " is empty");
  write_file(dir.file("big"), std::string(5000, 'a'));
  EXPECT_EQ(secret_error(source(SecretSource::Kind::file, dir.file("big"))),
            "c.toml:7:project[0].api_key: the API key file " + dir.file("big") + " is larger than 4096 bytes: not an API key");
  write_file(dir.file("config"), std::string("api_key = \"") + kKey + "\"\n");
  const std::string message = secret_error(source(SecretSource::Kind::file, dir.file("config")));
  EXPECT_THAT(message, HasSubstr("contains characters other than A-Z"));
  EXPECT_THAT(message, Not(HasSubstr(kKey)));
}

TEST(SecretCredential, ReadsFromCredentialsDirectory) {
  test::TempDir dir;
  write_file(dir.file("qonversion-api-key"), std::string(kKey) + "\n");
  ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path().c_str());
  EXPECT_EQ(resolve_secret(source(SecretSource::Kind::credential, "qonversion-api-key")), kKey);
  const std::string missing = dir.file("other");
  EXPECT_EQ(secret_error(source(SecretSource::Kind::credential, "other")),
            "c.toml:7:project[0].api_key: cannot read the API key from credential other (" + missing +
                "): No such file or directory");
}

TEST(SecretCredential, NeedsLoadCredential) {
  ScopedEnv env("CREDENTIALS_DIRECTORY", nullptr);
  EXPECT_EQ(secret_error(source(SecretSource::Kind::credential, "qonversion-api-key")),
            "c.toml:7:project[0].api_key: credential qonversion-api-key needs systemd LoadCredential= "
            "(CREDENTIALS_DIRECTORY is not set); outside systemd use api_key = { env = ... } or { file = ... }");
}

TEST(SecretSourceConfig, ParsedSourceResolves) {
  ScopedEnv env("QETL_TEST_KEY", kKey);
  const Config c = parse_config("[[project]]\nname = \"a\"\napi_key = { env = \"QETL_TEST_KEY\" }\n"
                                "[[window]]\nname = \"w\"\nlast = \"1d\"\n",
                                "c.toml");
  EXPECT_EQ(resolve_secret(c.projects[0].api_key), kKey);
}

}  // namespace
}  // namespace qetl
