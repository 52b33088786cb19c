// The one cleaner for outside text: valid UTF-8, one line, cut on a character boundary.
#include <gtest/gtest.h>

#include "util/text.hpp"

namespace qetl {
namespace {

TEST(CleanText, KeepsValidUtf8AsItIs) {
  EXPECT_EQ(clean_text("Zürich — 東京 🙂"), "Zürich — 東京 🙂");
  EXPECT_TRUE(is_valid_utf8(clean_text("Zürich — 東京 🙂")));
}

TEST(CleanText, ReplacesEveryByteThatIsNotUtf8) {
  // A Latin-1 proxy page: "é" as the single byte 0xE9.
  EXPECT_EQ(clean_text("caf\xE9 cr\xE8me"), "caf\xEF\xBF\xBD cr\xEF\xBF\xBD" "me");
  // Overlong '/', a surrogate, past U+10FFFF, a lone continuation byte.
  for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80"}) {
    const std::string out = clean_text(std::string("a") + bad + "b");
    EXPECT_TRUE(is_valid_utf8(out)) << out;
    EXPECT_EQ(out.front(), 'a');
    EXPECT_EQ(out.back(), 'b');
    EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos);
  }
  // A message cut inside a character ("é" = C3 A9, only C3 arrived).
  EXPECT_EQ(clean_text("message cut at caf\xC3"), "message cut at caf\xEF\xBF\xBD");
}

TEST(CleanText, MakesOneLineWithoutControlCharacters) {
  EXPECT_EQ(clean_text("  line one\r\n\tline\x1b[31m two\x7f \xC2\x85 end \n"), "line one line [31m two end");
  EXPECT_EQ(clean_text(std::string("nul\0byte", 8)), "nul byte");
}

TEST(CleanText, CutsOnACharacterBoundary) {
  // "東" is three bytes: 5 bytes of room hold "a" + one of them, not a half.
  EXPECT_EQ(clean_text("a東京", 5), "a東...");
  EXPECT_EQ(clean_text("a東京", 7), "a東京");
  const std::string long_text(10000, 'x');
  EXPECT_EQ(clean_text(long_text, 100).size(), 103u);
  EXPECT_TRUE(is_valid_utf8(clean_text(std::string(300, '\xE9'), 100)));
}

TEST(CutOutSecret, RemovesTheSecretInEveryFormAnAnswerMayEchoIt) {
  const std::string key = "key/with+chars=";
  EXPECT_EQ(cut_out_secret("Cannot GET /v1/analytics/key/with+chars=/customers-metrics", key),
            "Cannot GET /v1/analytics/****/customers-metrics");
  EXPECT_EQ(cut_out_secret(R"({"path":"/v1/key\/with+chars=/x"})", key), R"({"path":"/v1/****/x"})");
  EXPECT_EQ(cut_out_secret("GET /v1/key%2Fwith%2Bchars%3D/x", key), "GET /v1/****/x");
  EXPECT_EQ(cut_out_secret("GET /v1/key%2fwith%2bchars%3d/x", key), "GET /v1/****/x");
  EXPECT_EQ(cut_out_secret("nothing here", ""), "nothing here");
}

// One encoder for URLs (RFC 3986's unreserved characters kept), for the lower-case spelling a
// server may echo, and for file names (a narrower set kept).
TEST(PercentEncode, KeepsLettersDigitsAndTheGivenCharactersOnly) {
  EXPECT_EQ(percent_encode("premium_monthly-1.0~x"), "premium_monthly-1.0~x");
  EXPECT_EQ(percent_encode("a b/\xC3\xA9"), "a%20b%2F%C3%A9");
  EXPECT_EQ(percent_encode("a/\xC3\xA9", "-._~", HexCase::lower), "a%2f%c3%a9");
  EXPECT_EQ(percent_encode("my app.v2~1/2", "._-"), "my%20app.v2%7E1%2F2");
  EXPECT_EQ(percent_encode(std::string_view("a\0b", 3), "_-"), "a%00b");
}

}  // namespace
}  // namespace qetl
