// expand_cells: product, order, groups, "*", excludes, includes, dedup and max_cells.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "matrix/matrix.hpp"
#include "model/dimensions.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

const std::string kOneProject = "[[project]]\nname = \"app\"\napi_key = { env = \"K\" }\n";
const std::string kOneWindow = "[[window]]\nname = \"all_time\"\nfrom = \"2020-01-01\"\n";
const UnixSeconds kSnapshot = parse_utc_timestamp("2024-03-01");

Config config(const std::string& text) { return parse_config(text, "m.toml"); }

std::vector<std::string> segments(const std::vector<Cell>& cells) {
  std::vector<std::string> out;
  for (const Cell& c : cells) out.push_back(c.segment);
  return out;
}

std::string expand_error(const Config& c) {
  try {
    expand_cells(c, kSnapshot);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(MatrixExpand, EmptyMatrixGivesOneUnfilteredCellPerBucket) {
  const auto cells = expand_cells(config(kOneProject + kOneWindow +
                                         "[[window]]\nname = \"week\"\nlast = \"7d\"\n"
                                         "[[window]]\nname = \"days\"\neach = \"day\"\ncount = 2\n"),
                                  kSnapshot);
  ASSERT_EQ(cells.size(), 4u);
  for (const Cell& c : cells) {
    EXPECT_EQ(c.segment, "all");
    EXPECT_TRUE(c.filters.empty());
    EXPECT_EQ(c.project, "app");
    EXPECT_EQ(c.project_index, 0u);
    EXPECT_EQ(c.environment, 1);
  }
  EXPECT_EQ(cells[0].window_name, "all_time");
  EXPECT_EQ(cells[0].window_kind, WindowKind::fixed);
  EXPECT_EQ(cells[0].window_from, parse_utc_timestamp("2020-01-01"));
  EXPECT_EQ(cells[0].window_to, kSnapshot);
  EXPECT_EQ(cells[1].window_kind, WindowKind::rolling);
  EXPECT_EQ(cells[1].window_from, parse_utc_timestamp("2024-02-23"));
  EXPECT_EQ(cells[2].window_kind, WindowKind::cohort);
  EXPECT_EQ(cells[2].window_from, parse_utc_timestamp("2024-02-28"));
  EXPECT_EQ(cells[2].window_to, parse_utc_timestamp("2024-02-29"));
  EXPECT_EQ(cells[3].window_from, parse_utc_timestamp("2024-02-29"));
  EXPECT_EQ(cells[3].window_to, kSnapshot);
  // An empty [matrix] table is the same as none.
  EXPECT_THAT(segments(expand_cells(config("[matrix]\n" + kOneProject + kOneWindow), kSnapshot)), ElementsAre("all"));
}

TEST(MatrixExpand, ProductInDimensionOrderWithEntriesInConfigOrder) {
  // Written country first; target_platform comes first in kDimensions, so it is the outer loop.
  const auto cells = expand_cells(config("[matrix]\ncountry = [\"*\", \"US\", { name = \"EU\", values = [\"DE\", \"FR\"] }]\n"
                                         "target_platform = [\"*\", \"iOS\"]\n" + kOneProject + kOneWindow),
                                  kSnapshot);
  EXPECT_THAT(segments(cells), ElementsAre("all", "country=US", "country=EU", "target_platform=iOS",
                                           "country=US;target_platform=iOS", "country=EU;target_platform=iOS"));
  const Cell& eu_ios = cells[5];
  ASSERT_EQ(eu_ios.filters.size(), 2u);
  EXPECT_EQ(eu_ios.filters[0].dimension, "country");
  EXPECT_EQ(eu_ios.filters[0].label, "EU");
  EXPECT_EQ(eu_ios.filters[0].values, (std::vector<std::string>{"DE", "FR"}));
  EXPECT_EQ(eu_ios.filters[1].dimension, "target_platform");
  EXPECT_EQ(eu_ios.filters[1].label, "iOS");
  EXPECT_EQ(eu_ios.filters[1].values, (std::vector<std::string>{"iOS"}));
}

TEST(MatrixExpand, FiltersAreSortedByDimensionName) {
  // kDimensions order is status, target_platform, country, ..., search; filters are alphabetical.
  const auto cells = expand_cells(config("[matrix]\nstatus = [2]\ntarget_platform = [\"Stripe\"]\ncountry = [\"GB\"]\n"
                                         "search = [\"gold\"]\n" + kOneProject + kOneWindow),
                                  kSnapshot);
  ASSERT_EQ(cells.size(), 1u);
  std::vector<std::string> dims;
  for (const CellFilter& f : cells[0].filters) dims.push_back(f.dimension);
  EXPECT_THAT(dims, ElementsAre("country", "search", "status", "target_platform"));
  EXPECT_EQ(cells[0].segment, "country=GB;search=gold;status=2;target_platform=Stripe");
  EXPECT_EQ(cells[0].filters[1].values, (std::vector<std::string>{"gold"}));
}

TEST(MatrixExpand, NestingProjectsEnvironmentsWindowsBuckets) {
  const auto cells = expand_cells(
      config("[matrix]\ntarget_platform = [\"*\", \"iOS\"]\n"
             "[[project]]\nname = \"b\"\napi_key = { env = \"K\" }\nenvironments = [1, 0]\n"
             "[[project]]\nname = \"a\"\napi_key = { env = \"K\" }\n" +
             kOneWindow + "[[window]]\nname = \"days\"\neach = \"day\"\ncount = 2\n"),
      kSnapshot);
  ASSERT_EQ(cells.size(), 18u);  // (2 + 1) environments x 3 buckets x 2 combinations
  std::vector<std::string> order;
  for (const Cell& c : cells) {
    order.push_back(c.project + "/" + std::to_string(c.environment) + "/" + c.window_name + "/" +
                    format_iso8601(c.window_from).substr(0, 10) + "/" + c.segment);
  }
  EXPECT_THAT(order, ElementsAreArray({
                         "b/1/all_time/2020-01-01/all", "b/1/all_time/2020-01-01/target_platform=iOS",
                         "b/1/days/2024-02-28/all",     "b/1/days/2024-02-28/target_platform=iOS",
                         "b/1/days/2024-02-29/all",     "b/1/days/2024-02-29/target_platform=iOS",
                         "b/0/all_time/2020-01-01/all", "b/0/all_time/2020-01-01/target_platform=iOS",
                         "b/0/days/2024-02-28/all",     "b/0/days/2024-02-28/target_platform=iOS",
                         "b/0/days/2024-02-29/all",     "b/0/days/2024-02-29/target_platform=iOS",
                         "a/1/all_time/2020-01-01/all", "a/1/all_time/2020-01-01/target_platform=iOS",
                         "a/1/days/2024-02-28/all",     "a/1/days/2024-02-28/target_platform=iOS",
                         "a/1/days/2024-02-29/all",     "a/1/days/2024-02-29/target_platform=iOS",
                     }));
  EXPECT_EQ(cells[0].project_index, 0u);
  EXPECT_EQ(cells[12].project_index, 1u);
}

const std::string kPlatformCountry =
    "[matrix]\ntarget_platform = [\"*\", \"iOS\", \"Android\"]\n"
    "country = [\"*\", \"US\", { name = \"EU\", values = [\"DE\", \"FR\"] }]\n";

TEST(MatrixExpand, ExcludeDropsCombinationsMatchingAllItsFields) {
  const auto cells = expand_cells(
      config(kPlatformCountry + "[[matrix.exclude]]\ntarget_platform = \"Android\"\ncountry = \"US\"\n" + kOneProject + kOneWindow),
      kSnapshot);
  EXPECT_THAT(segments(cells), ElementsAre("all", "country=US", "country=EU", "target_platform=iOS",
                                           "country=US;target_platform=iOS", "country=EU;target_platform=iOS",
                                           "target_platform=Android", "country=EU;target_platform=Android"));
}

TEST(MatrixExpand, ExcludeStarMatchesOnlyTheUnfilteredEntry) {
  const auto cells = expand_cells(
      config(kPlatformCountry + "[[matrix.exclude]]\ntarget_platform = \"*\"\ncountry = \"*\"\n"
                                "[[matrix.exclude]]\ncountry = \"EU\"\n" + kOneProject + kOneWindow),
      kSnapshot);
  EXPECT_THAT(segments(cells), ElementsAre("country=US", "target_platform=iOS", "country=US;target_platform=iOS",
                                           "target_platform=Android", "country=US;target_platform=Android"));
}

TEST(MatrixExpand, ExcludeOnADimensionOutsideTheMatrix) {
  // status is not in [matrix], so it is always unfiltered: "*" matches, a value never does.
  const auto star = expand_cells(
      config(kPlatformCountry + "[[matrix.exclude]]\nstatus = \"*\"\ntarget_platform = \"iOS\"\n" + kOneProject + kOneWindow),
      kSnapshot);
  EXPECT_EQ(star.size(), 6u);
  for (const Cell& c : star) EXPECT_EQ(c.segment.find("iOS"), std::string::npos) << c.segment;
  const auto value = expand_cells(
      config(kPlatformCountry + "[[matrix.exclude]]\nstatus = \"2\"\ntarget_platform = \"iOS\"\n" + kOneProject + kOneWindow),
      kSnapshot);
  EXPECT_EQ(value.size(), 9u);
}

TEST(MatrixExpand, IncludesAreAppendedPerBucketAndResolveGroups) {
  const auto cells = expand_cells(
      config(kPlatformCountry + "[[matrix.include]]\ncountry = \"JP\"\ntarget_platform = \"iOS\"\n"
                                "[[matrix.include]]\ncountry = \"EU\"\nproduct_id = \"premium\"\n" +
             kOneProject + "[[window]]\nname = \"days\"\neach = \"day\"\ncount = 2\n"),
      kSnapshot);
  ASSERT_EQ(cells.size(), 22u);  // 2 buckets x (9 + 2)
  EXPECT_EQ(cells[9].segment, "country=JP;target_platform=iOS");
  EXPECT_EQ(cells[9].window_from, parse_utc_timestamp("2024-02-28"));
  EXPECT_EQ(cells[10].segment, "country=EU;product_id=premium");
  EXPECT_EQ(cells[10].filters[0].values, (std::vector<std::string>{"DE", "FR"}));  // the group's values
  EXPECT_EQ(cells[10].filters[1].values, (std::vector<std::string>{"premium"}));   // a literal value
  EXPECT_EQ(cells[11].segment, "all");
  EXPECT_EQ(cells[11].window_from, parse_utc_timestamp("2024-02-29"));
  EXPECT_EQ(cells[20].segment, "country=JP;target_platform=iOS");
  EXPECT_EQ(cells[21].segment, "country=EU;product_id=premium");
}

TEST(MatrixExpand, IncludesThatRepeatACellAreDropped) {
  const auto cells = expand_cells(
      config(kPlatformCountry +
             "[[matrix.include]]\ncountry = \"EU\"\ntarget_platform = \"iOS\"\n"  // = a product cell
             "[[matrix.include]]\ncountry = \"US\"\ntarget_platform = \"*\"\n"    // = a product cell
             "[[matrix.include]]\nstatus = \"*\"\n"                               // = the unfiltered cell
             "[[matrix.include]]\ncountry = \"JP\"\n"
             "[[matrix.include]]\ncountry = \"JP\"\nstatus = \"*\"\n" +  // = the include before
             kOneProject + kOneWindow),
      kSnapshot);
  EXPECT_EQ(cells.size(), 10u);
  EXPECT_EQ(cells.back().segment, "country=JP");
  const auto all = segments(cells);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
}

TEST(MatrixExpand, AnIncludeBringsBackAnExcludedCombination) {
  const auto cells = expand_cells(
      config(kPlatformCountry + "[[matrix.exclude]]\ncountry = \"US\"\n[[matrix.include]]\ncountry = \"US\"\n"
                                "target_platform = \"Android\"\n" + kOneProject + kOneWindow),
      kSnapshot);
  EXPECT_THAT(segments(cells), ElementsAre("all", "country=EU", "target_platform=iOS", "country=EU;target_platform=iOS",
                                           "target_platform=Android", "country=EU;target_platform=Android",
                                           "country=US;target_platform=Android"));
}

TEST(MatrixExpand, CellsAreUniqueEvenForAnUncheckedConfig) {
  Config c = config(kPlatformCountry + kOneProject + kOneWindow);
  c.projects[0].environments = {1, 1};  // load_config refuses this; expand_cells must not duplicate
  const auto cells = expand_cells(c, kSnapshot);
  EXPECT_EQ(cells.size(), 9u);
}

// A window that asks for nothing at this snapshot would quietly be missing from every night.
TEST(MatrixExpand, FixedWindowNotBeforeTheSnapshotIsRefused) {
  const Config c = config(kOneProject + "[[window]]\nname = \"week\"\nlast = \"7d\"\n"
                                        "[[window]]\nname = \"future\"\nfrom = \"2030-01-01\"\n");
  EXPECT_EQ(expand_error(c),
            "m.toml:9:window[1].from: 2030-01-01T00:00:00Z is not before the snapshot 2024-03-01T00:00:00Z: the window "
            "has no first-seen range to ask for");
  const Config same = config(kOneProject + "[[window]]\nname = \"today\"\nfrom = \"2024-03-01\"\n");
  EXPECT_EQ(expand_error(same),
            "m.toml:6:window[0].from: 2024-03-01T00:00:00Z is not before the snapshot 2024-03-01T00:00:00Z: the window "
            "has no first-seen range to ask for");
  try {
    expand_cells(same, kSnapshot);
  } catch (const EtlError& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
  }
  const Config before = config(kOneProject + "[[window]]\nname = \"today\"\nfrom = \"2024-02-29T23:00:00Z\"\n");
  ASSERT_EQ(expand_cells(before, kSnapshot).size(), 1u);
}

TEST(MatrixExpand, WindowsReachingBefore2000AreRefused) {
  EXPECT_EQ(expand_error(config(kOneProject + "[[window]]\nname = \"century\"\nlast = \"36525d\"\n")),
            "m.toml:6:window[0].last: starts at 1924-03-01T00:00:00Z, before 2000-01-01T00:00:00Z, the earliest "
            "first-seen time the job asks for");
  EXPECT_EQ(expand_error(config(kOneProject + "[[window]]\nname = \"months\"\neach = \"month\"\ncount = 1000\n")),
            "m.toml:6:window[0].each: starts at 1940-11-01T00:00:00Z, before 2000-01-01T00:00:00Z, the earliest "
            "first-seen time the job asks for");
  EXPECT_EQ(expand_cells(config(kOneProject + "[[window]]\nname = \"months\"\neach = \"month\"\ncount = 290\n"), kSnapshot)
                .front()
                .window_from,
            parse_utc_timestamp("2000-01-01"));
}

TEST(MatrixExpand, ExcludesThatRemoveEverythingAreRefused) {
  EXPECT_EQ(expand_error(config(kPlatformCountry + "[[matrix.exclude]]\ncountry = \"US\"\n[[matrix.exclude]]\ncountry = \"*\"\n"
                                "[[matrix.exclude]]\ncountry = \"EU\"\n[[matrix.exclude]]\ntarget_platform = \"iOS\"\n" +
                                kOneProject + kOneWindow)),
            "m.toml:8:matrix.exclude[2]: with this rule the excludes remove every filter combination: the matrix has "
            "no cells");
  // Without a [matrix], an exclude of the unfiltered cell removes the only combination.
  EXPECT_EQ(expand_error(config("[[matrix.exclude]]\ncountry = \"*\"\n" + kOneProject + kOneWindow)),
            "m.toml:1:matrix.exclude[0]: with this rule the excludes remove every filter combination: the matrix has "
            "no cells");
  // An include brings a cell back: that matrix is fine.
  EXPECT_THAT(segments(expand_cells(config("[[matrix.exclude]]\ncountry = \"*\"\n[[matrix.include]]\ncountry = \"JP\"\n" +
                                           kOneProject + kOneWindow),
                                    kSnapshot)),
              ElementsAre("country=JP"));
}

TEST(MatrixExpand, SegmentsLongerThanTheWarehouseKeyAreRefused) {
  const std::string v(255, 'v');
  std::string matrix = "[matrix]\n";
  for (const char* d : {"product_id", "locale", "model", "os_version", "app_version", "sdk_version", "media_source_name",
                        "campaign_name"}) {
    matrix += std::string(d) + " = [\"*\", \"" + v + "\"]\n";
  }
  // 8 x (name + '=' + 255) + 7 x ';' = 83 + 8 + 2040 + 7 = 2138 bytes for the fully filtered cell.
  EXPECT_EQ(expand_error(config(matrix + kOneProject + kOneWindow)),
            "m.toml:2:matrix.product_id: one filter combination makes a segment of 2138 bytes, more than the 2000 a "
            "warehouse key can hold (PostgreSQL indexes at most 2704 bytes per key, shared with the project and window "
            "names): shorten its values or group names");
  // Percent-encoded separators count three times.
  EXPECT_THAT(expand_error(config("[matrix]\nproduct_id = [\"" + std::string(255, ';') + "\"]\nlocale = [\"" +
                                  std::string(255, '=') + "\"]\nmodel = [\"" + std::string(255, '%') + "\"]\n" +
                                  kOneProject + kOneWindow)),
              ::testing::StartsWith("m.toml:2:matrix.product_id: one filter combination makes a segment of 2321 bytes"));
  // An include is named by its rule.
  EXPECT_THAT(expand_error(config("[[matrix.include]]\nproduct_id = \"" + std::string(255, ';') + "\"\nlocale = \"" +
                                  std::string(255, '=') + "\"\nmodel = \"" + std::string(255, '%') + "\"\n" +
                                  kOneProject + kOneWindow)),
              ::testing::StartsWith("m.toml:1:matrix.include[0]: one filter combination makes a segment of 2321 bytes"));
  // Seven of them fit: 2138 - 17 - 1 - 255 - 1 = 1864 bytes.
  matrix.erase(matrix.find("media_source_name"));
  matrix += "campaign_name = [\"*\", \"" + v + "\"]\n";
  EXPECT_EQ(expand_cells(config(matrix + kOneProject + kOneWindow), kSnapshot).back().segment.size(), 1864u);
}

TEST(MatrixExpand, MaxCellsIsEnforcedWithTheExactCount) {
  Config c = config(kPlatformCountry + "[[matrix.exclude]]\ntarget_platform = \"Android\"\ncountry = \"US\"\n"
                                       "[[matrix.exclude]]\ncountry = \"*\"\n[[matrix.include]]\ncountry = \"JP\"\n" +
                    kOneProject + "[[window]]\nname = \"days\"\neach = \"day\"\ncount = 2\n");
  c.max_cells = 12;  // 2 buckets x (9 - 1 - 3 + 1) = 12
  EXPECT_EQ(expand_cells(c, kSnapshot).size(), 12u);
  c.max_cells = 11;
  EXPECT_EQ(expand_error(c),
            "m.toml:1:max_cells: the matrix expands to 12 cells (1 project environments x 2 window buckets x 6 filter "
            "combinations), more than max_cells = 11: shrink the matrix or raise max_cells");
}

// Counting prunes excluded subtrees instead of listing the product; it must agree with the list.
TEST(MatrixExpand, CountAgreesWithExpansionUnderOverlappingExcludes) {
  const std::string text =
      "[matrix]\nstatus = [\"*\", 1, 2, 3]\ntarget_platform = [\"*\", \"iOS\", \"Android\", \"Stripe\"]\n"
      "country = [\"*\", \"US\", \"GB\", { name = \"EU\", values = [\"DE\", \"FR\"] }]\n"
      "product_id = [\"*\", \"a\", \"b\"]\n"
      "[[matrix.exclude]]\ntarget_platform = \"Stripe\"\n"
      "[[matrix.exclude]]\nstatus = \"1\"\nproduct_id = \"a\"\n"
      "[[matrix.exclude]]\ncountry = \"EU\"\nproduct_id = \"*\"\n"
      "[[matrix.exclude]]\nstatus = \"1\"\ncountry = \"EU\"\nproduct_id = \"*\"\n"
      "[[matrix.exclude]]\ncountry = \"CN\"\n" +
      kOneProject + kOneWindow;
  Config c = config(text);
  const auto cells = expand_cells(c, kSnapshot);
  // By hand: 4 x 4 x 4 x 3 = 192; Stripe drops 4 x 4 x 3 = 48; (status 1, product a) drops
  // 3 platforms x 4 countries = 12 more; (EU, product *) drops 4 statuses x 3 platforms = 12,
  // none shared with the rule before (product a vs *); the fourth rule is inside the third;
  // CN is not in the country list and matches nothing.
  EXPECT_EQ(cells.size(), 192u - 48u - 12u - 12u);
  c.max_cells = static_cast<std::int64_t>(cells.size());
  EXPECT_EQ(expand_cells(c, kSnapshot).size(), cells.size());
  c.max_cells = static_cast<std::int64_t>(cells.size()) - 1;
  EXPECT_THAT(expand_error(c), ::testing::HasSubstr("expands to " + std::to_string(cells.size()) + " cells"));
}

TEST(MatrixExpand, AHugeMatrixIsRefusedWithoutListingIt) {
  Config c = config(kOneProject + kOneWindow);
  for (std::size_t d = 3; d < 13; ++d) {  // 10 free-string dimensions x 40 entries = 40^10 combinations
    MatrixDimension md;
    md.dimension = std::string(kDimensions[d]);
    for (int e = 0; e < 40; ++e) md.entries.push_back(DimensionValue{"v" + std::to_string(e), {"v" + std::to_string(e)}, false});
    c.matrix.push_back(md);
  }
  c.excludes.push_back(MatrixRule{{{"locale", "v1"}, {"model", "v2"}}, {}});
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(expand_error(c),
            "m.toml:1:max_cells: the matrix expands to 10479206400000000 cells (1 project environments x 1 window buckets x "
            "10479206400000000 filter combinations), more than max_cells = 20000: shrink the matrix or raise max_cells");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(MatrixExpand, HundredThousandCellsAreFine) {
  Config c = config("max_cells = 100000\n[matrix]\nproduct_id = [" + [] {
    std::string list;
    for (int i = 0; i < 1000; ++i) list += (i ? ", \"p" : "\"p") + std::to_string(i) + "\"";
    return list;
  }() + "]\n" + kOneProject + "[[window]]\nname = \"days\"\neach = \"day\"\ncount = 100\n");
  const auto cells = expand_cells(c, kSnapshot);
  ASSERT_EQ(cells.size(), 100000u);
  EXPECT_EQ(cells.front().segment, "product_id=p0");
  EXPECT_EQ(cells.back().segment, "product_id=p999");
  EXPECT_EQ(cells.back().window_to, kSnapshot);
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(MatrixExpand, DemoConfigHasNinetyCells) {
  std::string text = read(QETL_SOURCE_DIR "/config/demo.toml");
  text.replace(text.find("@BASE_URL@"), 10, "http://127.0.0.1:1/v1/analytics");
  text.replace(text.find("@WAREHOUSE_URL@"), 15, "sqlite:demo.sqlite");
  const auto cells = expand_cells(parse_config(text, "demo.toml"), kSnapshot);
  EXPECT_EQ(cells.size(), 90u);
  EXPECT_EQ(cells[8].segment, "country=JP;target_platform=iOS");
}

TEST(MatrixExpand, ExampleConfigCellCount) {
  const Config c = load_config(QETL_SOURCE_DIR "/config/config.example.toml");
  // (4 platforms x 4 countries x 1 status x 3 products, the CN exclude matches none, + 1 include)
  // x (1 + 1 + 14) window buckets.
  EXPECT_EQ(expand_cells(c, kSnapshot).size(), 49u * 16u);
}

}  // namespace
}  // namespace qetl
