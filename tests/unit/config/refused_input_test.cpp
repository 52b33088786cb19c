// Input that parses but cannot make a good night is refused when the config is read: one line
// naming file:line:key, exit 78, before any request or warehouse access.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/temp_dir.hpp"
#include "config_test_support.hpp"

namespace qetl {
namespace {
using test::kBase;
using test::kProject;
using test::kWindow;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Refusal {
  std::string message;
  ExitCode code = ExitCode::ok;
};

// What parse_config throws for `text` read as "t.toml"; code ok when it is accepted.
Refusal refusal(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const EtlError& e) {
    return {e.what(), e.code()};
  }
  return {"<no error>", ExitCode::ok};
}

void expect_refused(const std::string& text, const std::string& message) {
  const Refusal r = refusal(text);
  EXPECT_EQ(r.message, message);
  EXPECT_EQ(r.code, ExitCode::config) << r.message;
  EXPECT_EQ(r.message.find('\n'), std::string::npos) << "one line";
}

// --- text values: valid UTF-8, no control characters -----------------------------------------

TEST(RefusedText, NulInAFilterValue) {
  expect_refused("[matrix]\nproduct_id = [\"*\", \"pm\\u0000x\"]\n" + kBase,
                 "t.toml:2:matrix.product_id[1]: contains the control character U+0000 at byte 3: names and values "
                 "must be printable UTF-8 text");
}

TEST(RefusedText, ControlCharactersInProjectAndWindowNames) {
  expect_refused("[[project]]\nname = \"my\\tapp\"\napi_key = { env = \"K\" }\n" + kWindow,
                 "t.toml:2:project[0].name: contains the control character U+0009 at byte 3: names and values must "
                 "be printable UTF-8 text");
  expect_refused("[[window]]\nname = \"all\\ntime\"\nlast = \"7d\"\n" + kProject,
                 "t.toml:2:window[0].name: contains the control character U+000A at byte 4: names and values must be "
                 "printable UTF-8 text");
  expect_refused("[[window]]\nname = \"w\\u007F\"\nlast = \"7d\"\n" + kProject,
                 "t.toml:2:window[0].name: contains the control character U+007F at byte 2: names and values must be "
                 "printable UTF-8 text");
}

TEST(RefusedText, C1ControlCharactersAreControlCharactersToo) {
  expect_refused("[matrix]\ncampaign_name = [\"spring\\u0085sale\"]\n" + kBase,
                 "t.toml:2:matrix.campaign_name[0]: contains the control character U+0085 at byte 7: names and values "
                 "must be printable UTF-8 text");
  expect_refused("[matrix]\ncampaign_name = [\"\\u009F\"]\n" + kBase,
                 "t.toml:2:matrix.campaign_name[0]: contains the control character U+009F at byte 1: names and values "
                 "must be printable UTF-8 text");
}

TEST(RefusedText, EveryKindOfTextIsChecked) {
  const std::string bad = "\"x\\u0001\"";
  const std::string message = ": contains the control character U+0001 at byte 2: names and values must be printable "
                              "UTF-8 text";
  expect_refused("[matrix]\ncountry = [{ name = " + bad + ", values = [\"DE\"] }]\n" + kBase,
                 "t.toml:2:matrix.country[0].name" + message);
  expect_refused("[matrix]\nlocale = [{ name = \"g\", values = [" + bad + "] }]\n" + kBase,
                 "t.toml:2:matrix.locale[0].values[0]" + message);
  expect_refused("[matrix]\nsearch = [" + bad + "]\n" + kBase, "t.toml:2:matrix.search[0]" + message);
  expect_refused("[[matrix.exclude]]\nproduct_id = " + bad + "\n" + kBase, "t.toml:2:matrix.exclude[0].product_id" + message);
  expect_refused("[[matrix.include]]\nad_name = " + bad + "\n" + kBase, "t.toml:2:matrix.include[0].ad_name" + message);
}

TEST(RefusedText, PrintableUnicodeIsFine) {
  const Config c = parse_config("[matrix]\ncampaign_name = [\"Весна ☀ 春\", \"naïve café\"]\n[[project]]\nname = \"приложение\"\n"
                                "api_key = { env = \"K\" }\n" + kWindow,
                                "t.toml");
  EXPECT_EQ(c.projects[0].name, "приложение");
  EXPECT_EQ(c.matrix[0].entries[0]->label, "Весна ☀ 春");
}

// Whatever a value holds, the message about it is one printable line.
TEST(RefusedText, MessagesQuotingAValueStayOneLine) {
  expect_refused("snapshot_grain = \"da\\ny\"\n" + kBase,
                 "t.toml:1:snapshot_grain: must be \"day\" or \"hour\", got \"da\\x0Ay\"");
  expect_refused("[warehouse]\nschema = \"q\\u0085\"\n" + kBase,
                 "t.toml:2:warehouse.schema: \"q\\u0085\" does not match ^[A-Za-z_][A-Za-z0-9_]*$");
  const Refusal url = refusal("[api]\nbase_url = \"https://api.example.com/v1\\r\\nX-Forged: 1\"\n" + kBase);
  EXPECT_THAT(url.message, StartsWith("t.toml:2:api.base_url: \"https://api.example.com/v1\\x0D\\x0AX-Forged: 1\" "));
  EXPECT_EQ(url.message.find_first_of("\r\n"), std::string::npos) << url.message;
  EXPECT_EQ(url.code, ExitCode::config);
}

TEST(RefusedText, PathsAndSourceNamesArePrintable) {
  expect_refused("[api]\nca_file = \"/etc/ssl/ca.pem\\n\"\n" + kBase,
                 "t.toml:2:api.ca_file: contains the control character U+000A at byte 16: names and values must be "
                 "printable UTF-8 text");
  expect_refused("metrics_file = \"/tmp/m\\u0000.prom\"\n" + kBase,
                 "t.toml:1:metrics_file: contains the control character U+0000 at byte 7: names and values must be "
                 "printable UTF-8 text");
  expect_refused("[[project]]\nname = \"a\"\napi_key = { file = \"/etc/key\\t\" }\n" + kWindow,
                 "t.toml:3:project[0].api_key.file: contains the control character U+0009 at byte 9: names and values "
                 "must be printable UTF-8 text");
}

// --- names and values the warehouse can hold -----------------------------------------------------

TEST(RefusedLength, AProjectNameOfFiveThousandCharacters) {
  expect_refused("[[project]]\nname = \"" + std::string(5000, 'p') + "\"\napi_key = { env = \"K\" }\n" + kWindow,
                 "t.toml:2:project[0].name: is 5000 bytes long, at most 200 are allowed (it is part of every row's key "
                 "in the warehouse)");
  EXPECT_EQ(refusal("[[project]]\nname = \"" + std::string(200, 'p') + "\"\napi_key = { env = \"K\" }\n" + kWindow).code,
            ExitCode::ok);
}

TEST(RefusedLength, NamesCountBytesNotCharacters) {
  std::string name;
  for (int i = 0; i < 101; ++i) name += "ж";  // 202 bytes
  expect_refused("[[window]]\nname = \"" + name + "\"\nlast = \"7d\"\n" + kProject,
                 "t.toml:2:window[0].name: is 202 bytes long, at most 200 are allowed (it is part of every row's key "
                 "in the warehouse)");
}

TEST(RefusedLength, FilterValuesAndGroupNames) {
  expect_refused("[matrix]\nproduct_id = [\"" + std::string(256, 'v') + "\"]\n" + kBase,
                 "t.toml:2:matrix.product_id[0]: is 256 characters long, at most 255 are allowed");
  expect_refused("[matrix]\nproduct_id = [{ name = \"" + std::string(256, 'g') + "\", values = [\"a\"] }]\n" + kBase,
                 "t.toml:2:matrix.product_id[0].name: is 256 characters long, at most 255 are allowed");
  expect_refused("[[matrix.include]]\nad_name = \"" + std::string(300, 'a') + "\"\n" + kBase,
                 "t.toml:2:matrix.include[0].ad_name: is 300 characters long, at most 255 are allowed");
  EXPECT_EQ(refusal("[matrix]\nproduct_id = [\"" + std::string(255, 'v') + "\"]\n" + kBase).code, ExitCode::ok);
}

// --- numbers -----------------------------------------------------------------------------------

TEST(RefusedNumber, RequestsPerMinuteOfOneETo300) {
  expect_refused("[api]\nrequests_per_minute = 1e-300\n" + kBase,
                 "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got 1e-300");
}

TEST(RefusedNumber, TimeoutOfInt64Max) {
  expect_refused("[api]\ntimeout_seconds = 9223372036854775807\n" + kBase,
                 "t.toml:2:api.timeout_seconds: must be between 1 and 3600, got 9223372036854775807");
}

// --- the warehouse schema ------------------------------------------------------------------------

TEST(RefusedSchema, PgTemp) {
  expect_refused("[warehouse]\nschema = \"pg_temp\"\n" + kBase,
                 "t.toml:2:warehouse.schema: \"pg_temp\" is a PostgreSQL system schema (pg_* and information_schema "
                 "are reserved): choose another name");
}

// --- the API's base URL (the key travels in its path) --------------------------------------------

TEST(RefusedBaseUrl, PlainHttpToARemoteHost) {
  expect_refused("[api]\nbase_url = \"http://api.qonversion.io/v1/analytics\"\n" + kBase,
                 "t.toml:2:api.base_url: \"http://api.qonversion.io/v1/analytics\" would send the API key in clear "
                 "text: use https:// (http:// is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost)");
}

TEST(RefusedBaseUrl, PortOutOfRange) {
  const Refusal r = refusal("[api]\nbase_url = \"https://api.example.com:99999/v1/analytics\"\n" + kBase);
  EXPECT_THAT(r.message, StartsWith("t.toml:2:api.base_url: \"https://api.example.com:99999/v1/analytics\" is not a URL "
                                    "libcurl can use: "));
  EXPECT_EQ(r.code, ExitCode::config);
}

TEST(RefusedBaseUrl, UnclosedBracket) {
  const Refusal r = refusal("[api]\nbase_url = \"http://[::1/v1/analytics\"\n" + kBase);
  EXPECT_THAT(r.message, StartsWith("t.toml:2:api.base_url: \"http://[::1/v1/analytics\" is not a URL libcurl can use: "));
  EXPECT_EQ(r.code, ExitCode::config);
}

// --- ca_file ---------------------------------------------------------------------------------------

TEST(RefusedCaFile, MissingOrNotAFile) {
  expect_refused("[api]\nca_file = \"/nonexistent-dir/ca.pem\"\n" + kBase,
                 "t.toml:2:api.ca_file: cannot read /nonexistent-dir/ca.pem: No such file or directory");
  test::TempDir dir;
  expect_refused("[api]\nca_file = \"" + dir.path().string() + "\"\n" + kBase,
                 "t.toml:2:api.ca_file: cannot read " + dir.path().string() + ": it is a directory");
}

TEST(RefusedCaFile, UnreadableFile) {
  // A symlink loop cannot be opened by anyone, root included (tests may run as root).
  test::TempDir dir;
  const std::string path = dir.file("ca.pem");
  std::filesystem::create_symlink(path, path);
  expect_refused("[api]\nca_file = \"" + path + "\"\n" + kBase,
                 "t.toml:2:api.ca_file: cannot read " + path + ": Too many levels of symbolic links");
}

TEST(RefusedCaFile, AReadableFileIsKept) {
  test::TempDir dir;
  const std::string path = dir.file("ca.pem");
  std::ofstream(path) << "-----BEGIN CERTIFICATE-----\n";
  const Config c = parse_config("[api]\nca_file = \"" + path + "\"\n" + kBase, "t.toml");
  ASSERT_TRUE(c.api.ca_file.has_value());
  EXPECT_EQ(*c.api.ca_file, path);
}

}  // namespace
}  // namespace qetl
