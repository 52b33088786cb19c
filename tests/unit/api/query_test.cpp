#include <gtest/gtest.h>

#include "api/query.hpp"

namespace qetl {
namespace {

Cell cell_with(std::vector<CellFilter> filters) {
  Cell c;
  c.project = "app";
  c.environment = 0;
  c.window_from = 1700000000;
  c.window_to = 1700604800;
  c.filters = std::move(filters);
  return c;
}

TEST(QueryEncoding, AlwaysSendsEnvironmentAndBothSinceBounds) {
  EXPECT_EQ(build_query(cell_with({})), "environment=0&filter[since][]=1700000000&filter[since][]=1700604800");
}

TEST(QueryEncoding, RepeatsArrayKeysForGroupsInFilterOrder) {
  const Cell c = cell_with({{"country", "EU", {"DE", "FR"}}, {"target_platform", "iOS", {"iOS"}}});
  EXPECT_EQ(build_query(c),
            "environment=0&filter[since][]=1700000000&filter[since][]=1700604800"
            "&filter[country][]=DE&filter[country][]=FR&filter[target_platform][]=iOS");
}

TEST(QueryEncoding, PercentEncodesAwkwardValues) {
  const Cell c = cell_with({{"media_source_name", "x", {"Google & Co=1 \"q\" 'o' Café/ü"}}});
  const std::string q = build_query(c);
  EXPECT_EQ(q.substr(q.find("&filter[media")),
            "&filter[media_source_name][]=Google%20%26%20Co%3D1%20%22q%22%20%27o%27%20Caf%C3%A9%2F%C3%BC");
}

TEST(QueryEncoding, SearchIsAScalarParameter) {
  const Cell c = cell_with({{"search", "john doe", {"john doe"}}});
  EXPECT_NE(build_query(c).find("&search=john%20doe"), std::string::npos);
  EXPECT_EQ(build_query(c).find("filter[search]"), std::string::npos);
}

TEST(QueryEncoding, UnreservedCharactersStayAsTheyAre) {
  EXPECT_EQ(percent_encode("premium_monthly-1.0~x"), "premium_monthly-1.0~x");
}

TEST(RequestUrl, PutsTheKeyInThePath) {
  EXPECT_EQ(request_url("https://api.qonversion.io/v1/analytics/", "KEY123", "environment=1"),
            "https://api.qonversion.io/v1/analytics/KEY123/customers-metrics?environment=1");
}

TEST(DisplayUrl, MasksTheKeyAndDropsSchemeAndHost) {
  EXPECT_EQ(display_url("https://api.qonversion.io/v1/analytics", "environment=1"),
            "/v1/analytics/****/customers-metrics?environment=1");
  EXPECT_EQ(display_url("http://127.0.0.1:8080/v1/analytics/", "a=b"), "/v1/analytics/****/customers-metrics?a=b");
}

}  // namespace
}  // namespace qetl
