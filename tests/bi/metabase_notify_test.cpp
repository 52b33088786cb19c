// notify_metabase against a real HTTP endpoint on 127.0.0.1 that checks method, path, the
// X-METABASE-APIKEY header, the content type and the body, and against the ways it can fail.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "bi/metabase_endpoint.hpp"
#include "bi/metabase_notify.hpp"
#include "common/temp_dir.hpp"

namespace qetl {
namespace {

using test::MetabaseEndpoint;
using ::testing::HasSubstr;
using ::testing::Not;

// Shaped like a Metabase API key: base64 text with '+', '/' and a trailing '='.
const std::string kKey = "mb_Qk9HVVMta2V5+Zm9yL3Rlc3Rz/bi0=";
const std::string kWrongKey = "mb_d3Jvbmcta2V5LW5vdC10aGlzLW9uZQ==";
constexpr std::int64_t kDatabaseId = 7;

struct CurlOnce : ::testing::Environment {
  void SetUp() override { ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK); }
  void TearDown() override { curl_global_cleanup(); }
};
const auto* const kCurl = ::testing::AddGlobalTestEnvironment(new CurlOnce);

BiConfig bi_for(const std::string& url, std::int64_t id = kDatabaseId) {
  BiConfig bi;
  bi.metabase_url = url;
  bi.metabase_database_id = id;
  bi.metabase_api_key.kind = SecretSource::Kind::env;
  bi.metabase_api_key.name = "MB_API_KEY";
  return bi;
}

// What every result must keep to: one line, bounded, no key in any form.
void expect_safe_message(const MetabaseNotifyResult& r) {
  EXPECT_THAT(r.message, Not(HasSubstr(kKey)));
  EXPECT_THAT(r.message, Not(HasSubstr("Qk9HVVMta2V5")));  // nor a part of it
  EXPECT_THAT(r.message, Not(HasSubstr(kWrongKey)));
  EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find('\r'), std::string::npos) << r.message;
  EXPECT_LT(r.message.size(), 500u) << r.message;
  EXPECT_FALSE(r.message.empty());
}

TEST(MetabaseNotify, PostsTheSchemaScanWithTheKeyHeader) {
  MetabaseEndpoint metabase(kKey, kDatabaseId);
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kKey, 10, std::nullopt);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_THAT(r.message, HasSubstr("200"));
  expect_safe_message(r);

  const auto stats = metabase.stats();
  ASSERT_EQ(stats.requests_total, 1);
  EXPECT_EQ(stats.valid_notifications, 1);
  const auto& q = stats.requests.at(0);
  EXPECT_EQ(q.verdict, "ok");
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.path, "/api/notify/db/7");
  EXPECT_EQ(q.content_type, "application/json");
  EXPECT_TRUE(q.key_matches);
  EXPECT_EQ(q.body, R"({"scan":"schema"})");
}

TEST(MetabaseNotify, WorksUnderAPathPrefix) {
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--prefix", "/metabase"});
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url() + "/metabase"), kKey, 10, std::nullopt);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.http_status, 200);
  const auto stats = metabase.stats();
  ASSERT_EQ(stats.requests_total, 1);
  EXPECT_EQ(stats.requests.at(0).path, "/metabase/api/notify/db/7");
  EXPECT_EQ(stats.valid_notifications, 1);
}

TEST(MetabaseNotify, WrongKeyIsA401NotOk) {
  MetabaseEndpoint metabase(kKey, kDatabaseId);
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kWrongKey, 10, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_THAT(r.message, HasSubstr("HTTP 401"));
  EXPECT_THAT(r.message, HasSubstr("Unauthenticated"));  // the excerpt of Metabase's answer
  expect_safe_message(r);
  EXPECT_EQ(metabase.stats().valid_notifications, 0);
}

TEST(MetabaseNotify, WrongDatabaseIdIsNotOk) {
  MetabaseEndpoint metabase(kKey, kDatabaseId);
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url(), 8), kKey, 10, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_THAT(r.message, HasSubstr("/api/notify/db/8"));
  expect_safe_message(r);
}

TEST(MetabaseNotify, ServerErrorIsNotOk) {
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--status", "500"});
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kKey, 10, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_THAT(r.message, HasSubstr("HTTP 500"));
  expect_safe_message(r);
  EXPECT_EQ(metabase.stats().requests.at(0).verdict, "ok") << "the request itself was right";
}

TEST(MetabaseNotify, AnswerEchoingTheKeyIsRedacted) {
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--status", "500", "--echo-key"});
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kKey, 10, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("received_key"));
  EXPECT_THAT(r.message, HasSubstr("****"));
  expect_safe_message(r);

  MetabaseEndpoint wrong(kKey, kDatabaseId, {"--echo-key"});
  const MetabaseNotifyResult w = notify_metabase(bi_for(wrong.url()), kWrongKey, 10, std::nullopt);
  EXPECT_EQ(w.http_status, 401);
  expect_safe_message(w);
}

// A redirect is reported, not followed: following would resend the key wherever it points.
TEST(MetabaseNotify, RedirectIsReportedNotFollowed) {
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--status", "308", "--location", "https://metabase.example/api/notify/db/7"});
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kKey, 10, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 308);
  EXPECT_THAT(r.message, HasSubstr("redirect to https://metabase.example/api/notify/db/7"));
  expect_safe_message(r);
  EXPECT_EQ(metabase.stats().requests_total, 1);
}

TEST(MetabaseNotify, LongMultiLineAnswerBecomesOneBoundedLine) {
  std::string text = "line one\r\n\tline two\x01\n";
  text += std::string(5000, 'x');
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--status", "502", "--answer-text", text});
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kKey, 10, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 502);
  EXPECT_THAT(r.message, HasSubstr("line one line two xxx"));
  EXPECT_THAT(r.message, HasSubstr("..."));
  EXPECT_EQ(r.message.find('\t'), std::string::npos);
  EXPECT_EQ(r.message.find('\x01'), std::string::npos);
  expect_safe_message(r);
}

TEST(MetabaseNotify, ConnectionRefusedIsNotOk) {
  const std::string url = "http://127.0.0.1:" + std::to_string(test::unused_port());
  const MetabaseNotifyResult r = notify_metabase(bi_for(url), kKey, 5, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_THAT(r.message, HasSubstr("connect failed"));
  EXPECT_THAT(r.message, HasSubstr(url + "/api/notify/db/7"));
  expect_safe_message(r);
}

TEST(MetabaseNotify, HangingServerTimesOut) {
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--hang-seconds", "10"});
  const auto start = std::chrono::steady_clock::now();
  const MetabaseNotifyResult r = notify_metabase(bi_for(metabase.url()), kKey, 0.5, std::nullopt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_THAT(r.message, HasSubstr("timed out"));
  EXPECT_LT(seconds, 3.0);
  expect_safe_message(r);
}

TEST(MetabaseNotify, EmptyOrMultiLineKeyIsNeverSent) {
  MetabaseEndpoint metabase(kKey, kDatabaseId);
  const MetabaseNotifyResult empty = notify_metabase(bi_for(metabase.url()), "", 10, std::nullopt);
  EXPECT_FALSE(empty.ok);
  EXPECT_THAT(empty.message, HasSubstr("empty"));
  const MetabaseNotifyResult injected =
      notify_metabase(bi_for(metabase.url()), kKey + "\r\nX-Other: 1", 10, std::nullopt);
  EXPECT_FALSE(injected.ok);
  EXPECT_THAT(injected.message, HasSubstr("control characters"));
  expect_safe_message(injected);
  EXPECT_EQ(metabase.stats().requests_total, 0);
}

TEST(MetabaseNotify, UnreadableCaFileIsReportedNotThrown) {
  MetabaseEndpoint metabase(kKey, kDatabaseId);
  const MetabaseNotifyResult r =
      notify_metabase(bi_for(metabase.url()), kKey, 10, std::string("/nonexistent-dir/ca.pem"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("api.ca_file: cannot read /nonexistent-dir/ca.pem"));
  expect_safe_message(r);
  EXPECT_EQ(metabase.stats().requests_total, 0);
}

// HTTPS with a self-signed certificate: refused without ca_file (verification is on), accepted
// with it added to the system bundle.
TEST(MetabaseNotify, VerifiesTlsAndTrustsTheExtraCaFile) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl is needed to make a certificate";
  test::TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  const std::string make_cert = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + key + "' -out '" + cert +
                                "' -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);
  MetabaseEndpoint metabase(kKey, kDatabaseId, {"--tls-cert", cert, "--tls-key", key});
  ASSERT_EQ(metabase.url().rfind("https://", 0), 0u);

  const MetabaseNotifyResult untrusted = notify_metabase(bi_for(metabase.url()), kKey, 10, std::nullopt);
  EXPECT_FALSE(untrusted.ok);
  EXPECT_EQ(untrusted.http_status, 0);
  EXPECT_THAT(untrusted.message, HasSubstr("TLS certificate not trusted"));
  expect_safe_message(untrusted);

  const MetabaseNotifyResult trusted = notify_metabase(bi_for(metabase.url()), kKey, 10, cert);
  EXPECT_TRUE(trusted.ok) << trusted.message;
  EXPECT_EQ(trusted.http_status, 200);
}

}  // namespace
}  // namespace qetl
