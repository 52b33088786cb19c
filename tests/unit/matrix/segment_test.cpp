#include <gtest/gtest.h>

#include "matrix/matrix.hpp"

namespace qetl {
namespace {

TEST(SegmentText, AllWhenUnfiltered) { EXPECT_EQ(segment_text({}), "all"); }

TEST(SegmentText, SortedByDimensionName) {
  const std::vector<CellFilter> filters = {{"target_platform", "iOS", {"iOS"}}, {"country", "EU", {"DE", "FR"}},
                                           {"status", "2", {"2"}}};
  EXPECT_EQ(segment_text(filters), "country=EU;status=2;target_platform=iOS");
}

TEST(SegmentText, SeparatorsInLabelsAreEscaped) {
  EXPECT_EQ(segment_text({{"search", "a%b;c=d", {"a%b;c=d"}}}), "search=a%25b%3Bc%3Dd");
  // Other characters stay as they are, readable in SQL.
  EXPECT_EQ(segment_text({{"campaign_name", "Spring \"sale\" & more/é", {"x"}}}),
            "campaign_name=Spring \"sale\" & more/é");
}

TEST(SegmentText, EscapingKeepsSegmentsDistinct) {
  const std::string smuggled = segment_text({{"ad_name", "x;country=US", {"x;country=US"}}});
  const std::string genuine = segment_text({{"ad_name", "x", {"x"}}, {"country", "US", {"US"}}});
  EXPECT_EQ(smuggled, "ad_name=x%3Bcountry%3DUS");
  EXPECT_EQ(genuine, "ad_name=x;country=US");
  EXPECT_NE(smuggled, genuine);
  EXPECT_NE(segment_text({{"ad_name", "%3B", {"%3B"}}}), segment_text({{"ad_name", ";", {";"}}}));
}

}  // namespace
}  // namespace qetl
