#pragma once
// One stored customer_metrics row against the body the mock answered for its cell.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <utility>
#include <vector>

#include "e2e/warehouse_probe.hpp"

namespace qetl::test {

// `exact_decimals`: PostgreSQL's numeric keeps the JSON number's text; SQLite keeps a double.
inline void expect_row_equals_answer(const SqlRow& row, const std::string& body_text, bool exact_decimals,
                                     const std::string& context) {
  rapidjson::Document body;
  // Iterative: the answers of the hostile-API tests nest far deeper than any stack.
  body.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(body_text.c_str());
  if (!body.IsObject() || !body.HasMember("data")) {
    ADD_FAILURE() << context << ": answer without data: " << body_text;
    return;
  }
  const auto& data = body["data"];
  auto api = [&](const char* f) { return std::string(data[f].GetString()); };
  for (const auto& [column, field] : std::vector<std::pair<std::string, const char*>>{
           {"clients_with_event", "clientsWithEvent"}, {"active_subscribers", "activeSubscribers"},
           {"active_trials", "activeTrials"}, {"billing_retry", "billingRetry"}}) {
    EXPECT_EQ(std::stoll(*row.at(column)), std::stoll(api(field))) << context << " " << column;
  }
  for (const auto& [column, field] : std::vector<std::pair<std::string, const char*>>{
           {"churned_subscribers", "churnedSubscribers"}, {"canceled_trials", "canceledTrials"}}) {
    EXPECT_DOUBLE_EQ(std::stod(*row.at(column)), std::stod(api(field))) << context << " " << column;
  }
  for (const auto& [column, field] : std::vector<std::pair<std::string, const char*>>{
           {"avg_payment_count", "avgPaymentCount"}, {"avg_price", "avgPrice"}, {"sales", "sales"}}) {
    if (exact_decimals) {
      EXPECT_EQ(*row.at(column), api(field)) << context << " " << column;
    } else {
      EXPECT_DOUBLE_EQ(std::stod(*row.at(column)), std::stod(api(field))) << context << " " << column;
    }
  }
}

}  // namespace qetl::test
