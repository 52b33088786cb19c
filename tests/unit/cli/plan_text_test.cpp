// `plan` output: one line of five tab-separated fields per cell, whatever the names hold.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/plan_text.hpp"

namespace qetl::cli {
namespace {

Config two_projects(const std::string& key_b) {
  Config c;
  c.api.requests_per_minute = 60;
  ProjectConfig a;
  a.name = "a";
  a.api_key.name = "KEY_A";
  ProjectConfig b;
  b.name = "b";
  b.api_key.name = key_b;
  c.projects = {a, b};
  return c;
}

Cell cell(std::size_t project, const std::string& segment) {
  Cell c;
  c.project_index = project;
  c.project = project == 0 ? "a" : "b";
  c.window_name = "all\ttime";
  c.window_from = 1735689600;
  c.window_to = 1795000000;
  c.segment = segment;
  return c;
}

TEST(PlanLine, EscapesTabsAndLineBreaksSoEveryCellIsOneLineOfFiveFields) {
  const Config config = two_projects("KEY_B");
  const std::string line = plan_line(config, cell(0, "campaign_name=spring\tsale\nnext;ad=x\\y"));
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 4) << line;
  EXPECT_NE(line.find("campaign_name=spring\\tsale\\nnext;ad=x\\\\y"), std::string::npos) << line;
  EXPECT_NE(line.find("all\\ttime ["), std::string::npos) << line;
}

TEST(PlanFooter, EstimatesByKeyBecauseProjectsSharingAKeyShareItsPace) {
  std::vector<Cell> cells;
  for (int i = 0; i < 60; ++i) cells.push_back(cell(0, "s" + std::to_string(i)));
  for (int i = 0; i < 60; ++i) cells.push_back(cell(1, "s" + std::to_string(i)));
  EXPECT_DOUBLE_EQ(estimated_seconds(two_projects("KEY_B"), cells), 60.0);   // side by side
  EXPECT_DOUBLE_EQ(estimated_seconds(two_projects("KEY_A"), cells), 120.0);  // one key, one pace
}

}  // namespace
}  // namespace qetl::cli
