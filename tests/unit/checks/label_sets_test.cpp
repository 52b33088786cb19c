// Which labels contain which: a value is its own set, a group is its values, search only
// equals itself.
#include <gtest/gtest.h>

#include "checks/label_sets.hpp"
#include "checks_test_support.hpp"

namespace qetl {
namespace {
using checks_detail::LabelSets;

const std::size_t kCountry = *dimension_index("country");
const std::size_t kSearch = *dimension_index("search");
const std::size_t kPlatform = *dimension_index("target_platform");

TEST(LabelSets, AValueContainsOnlyItself) {
  const LabelSets sets(test::checks_config());
  EXPECT_TRUE(sets.contains(kCountry, "US", "US"));
  EXPECT_FALSE(sets.contains(kCountry, "US", "DE"));
  EXPECT_FALSE(sets.contains(kPlatform, "iOS", "Android"));
}

TEST(LabelSets, AGroupContainsEachOfItsValuesAndNoOther) {
  const LabelSets sets(test::checks_config());
  EXPECT_TRUE(sets.contains(kCountry, "EU", "DE"));
  EXPECT_TRUE(sets.contains(kCountry, "EU", "IT"));
  EXPECT_FALSE(sets.contains(kCountry, "EU", "US"));
  EXPECT_FALSE(sets.contains(kCountry, "DE", "EU"));
}

TEST(LabelSets, AGroupContainsTheGroupsWhoseValuesItHolds) {
  const LabelSets sets(test::checks_config());
  EXPECT_TRUE(sets.contains(kCountry, "EU", "DE_FR"));
  EXPECT_FALSE(sets.contains(kCountry, "DE_FR", "EU"));
  EXPECT_TRUE(sets.contains(kCountry, "DE_FR", "ONLY_DE"));
  // A group of one value and that value select the same customers.
  EXPECT_TRUE(sets.contains(kCountry, "DE", "ONLY_DE"));
  EXPECT_TRUE(sets.contains(kCountry, "ONLY_DE", "DE"));
  EXPECT_FALSE(sets.contains(kCountry, "FR", "ONLY_DE"));
}

TEST(LabelSets, GroupsBelongToTheirDimension) {
  const LabelSets sets(test::checks_config());
  EXPECT_TRUE(sets.is_group(kCountry, "EU"));
  EXPECT_FALSE(sets.is_group(kPlatform, "EU"));
  EXPECT_FALSE(sets.is_group(kCountry, "DE"));
  EXPECT_FALSE(sets.contains(kPlatform, "EU", "DE"));
}

TEST(LabelSets, ALabelTheConfigNoLongerKnowsIsASingleValue) {
  const LabelSets sets(test::checks_config());
  EXPECT_FALSE(sets.is_group(kCountry, "OLD_EU"));
  EXPECT_FALSE(sets.contains(kCountry, "OLD_EU", "DE"));
  EXPECT_TRUE(sets.contains(kCountry, "OLD_EU", "OLD_EU"));
}

TEST(LabelSets, SearchContainsOnlyTheSameSearch) {
  const LabelSets sets(test::checks_config());
  EXPECT_TRUE(sets.contains(kSearch, "gold", "gold"));
  EXPECT_FALSE(sets.contains(kSearch, "gold", "silver"));
  EXPECT_FALSE(sets.contains(kSearch, "gold", "gold member"));
}

}  // namespace
}  // namespace qetl
