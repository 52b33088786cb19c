#include <gtest/gtest.h>

#include "api/metrics_json.hpp"

namespace qetl {
namespace {

const char* kDocumented =
    R"({"data": {"clientsWithEvent": 15420, "activeSubscribers": 4230, "churnedSubscribers": 43,
       "activeTrials": 820, "canceledTrials": 35.5, "billingRetry": 120,
       "avgPaymentCount": 2.4, "avgPrice": 9.95, "sales": 380276.24}})";

TEST(MetricsJson, ReadsTheDocumentedBody) {
  const MetricsParse p = parse_metrics_body(kDocumented);
  ASSERT_TRUE(p.metrics) << p.error;
  EXPECT_EQ(p.metrics->clients_with_event, 15420);
  EXPECT_EQ(p.metrics->active_subscribers, 4230);
  EXPECT_EQ(p.metrics->churned_subscribers, 43.0);
  EXPECT_EQ(p.metrics->active_trials, 820);
  EXPECT_EQ(p.metrics->canceled_trials, 35.5);
  EXPECT_EQ(p.metrics->billing_retry, 120);
  EXPECT_EQ(p.metrics->avg_payment_count, "2.4");
  EXPECT_EQ(p.metrics->avg_price, "9.95");
  EXPECT_EQ(p.metrics->sales, "380276.24");
}

TEST(MetricsJson, KeepsTheExactTextOfDecimalsBeyondDoublePrecision) {
  const MetricsParse p = parse_metrics_body(
      R"({"data": {"clientsWithEvent": 1, "activeSubscribers": 1, "churnedSubscribers": 0, "activeTrials": 0,
         "canceledTrials": 0, "billingRetry": 0, "avgPaymentCount": 1, "avgPrice": 0.10,
         "sales": 123456789012.123456789}})");
  ASSERT_TRUE(p.metrics) << p.error;
  EXPECT_EQ(p.metrics->sales, "123456789012.123456789");
  EXPECT_EQ(p.metrics->avg_price, "0.10");
}

TEST(MetricsJson, AcceptsNumericStrings) {
  const MetricsParse p = parse_metrics_body(
      R"({"data": {"clientsWithEvent": "1284", "activeSubscribers": "7", "churnedSubscribers": "12.5",
         "activeTrials": 3, "canceledTrials": "0", "billingRetry": "0", "avgPaymentCount": "1.5",
         "avgPrice": "4.99", "sales": "10.00"}})");
  ASSERT_TRUE(p.metrics) << p.error;
  EXPECT_EQ(p.metrics->clients_with_event, 1284);
  EXPECT_EQ(p.metrics->churned_subscribers, 12.5);
  EXPECT_EQ(p.metrics->sales, "10.00");
}

TEST(MetricsJson, IgnoresUnknownFields) {
  const MetricsParse p = parse_metrics_body(
      R"({"meta": {"x": [1, 2]}, "data": {"newField": {"a": 1}, "clientsWithEvent": 1, "activeSubscribers": 1,
         "churnedSubscribers": 0, "activeTrials": 0, "canceledTrials": 0, "billingRetry": 0,
         "avgPaymentCount": 0, "avgPrice": 0, "sales": 0}})");
  ASSERT_TRUE(p.metrics) << p.error;
}

struct BadBody {
  const char* body;
  const char* expected_fragment;
};

class MetricsJsonRejects : public ::testing::TestWithParam<BadBody> {};

TEST_P(MetricsJsonRejects, WithAMessageNamingTheProblem) {
  const MetricsParse p = parse_metrics_body(GetParam().body);
  EXPECT_FALSE(p.metrics);
  EXPECT_NE(p.error.find(GetParam().expected_fragment), std::string::npos) << p.error;
}

#define FIELDS_EXCEPT_SALES                                                                                  \
  R"("clientsWithEvent": 1, "activeSubscribers": 1, "churnedSubscribers": 0, "activeTrials": 0, "canceledTrials": 0, "billingRetry": 0, "avgPaymentCount": 0, "avgPrice": 0)"

INSTANTIATE_TEST_SUITE_P(
    Bodies, MetricsJsonRejects,
    ::testing::Values(BadBody{"", "empty body"}, BadBody{R"({"data": {)", "not JSON"},
                      BadBody{"<html><body>502 Bad Gateway</body></html>", "not JSON"},
                      BadBody{R"([1, 2])", "not a JSON object"}, BadBody{R"({"result": {}})", "no \"data\" object"},
                      BadBody{R"({"data": 5})", "no \"data\" object"},
                      BadBody{"{\"data\": {" FIELDS_EXCEPT_SALES "}}", "data.sales: missing"},
                      BadBody{"{\"data\": {" FIELDS_EXCEPT_SALES ", \"sales\": \"lots\"}}", "data.sales: \"lots\" is not a number"},
                      BadBody{"{\"data\": {" FIELDS_EXCEPT_SALES ", \"sales\": null}}", "data.sales: is not a number"},
                      BadBody{"{\"data\": {" FIELDS_EXCEPT_SALES ", \"sales\": \" 12\"}}", "is not a number"},
                      BadBody{"{\"data\": {" FIELDS_EXCEPT_SALES ", \"sales\": 1e300}}", "out of range"},
                      BadBody{R"({"data": {"clientsWithEvent": 1e30}})", "clientsWithEvent: 1e30 is out of range"},
                      BadBody{R"({"data": {"clientsWithEvent": 99999999999999999999}})", "out of range"},
                      BadBody{R"({"data": {"clientsWithEvent": -1}})", "out of range"},
                      BadBody{R"({"data": {"clientsWithEvent": 2.5}})", "not a whole number"},
                      BadBody{R"({"data": {"clientsWithEvent": 1, "activeSubscribers": 1, "churnedSubscribers": 140}})",
                              "churnedSubscribers: 140 is out of range"}));

TEST(ApiErrorMessage, ReadsBothDocumentedEnvelopes) {
  EXPECT_EQ(api_error_message(R"({"success": false, "message": "Invalid or missing Project API Key", "errors": null})"),
            "Invalid or missing Project API Key");
  EXPECT_EQ(api_error_message(
                R"({"error": {"code": "validation_error", "message": "Unprocessable request params", "type": "request"}})"),
            "Unprocessable request params (validation_error)");
  EXPECT_EQ(api_error_message(R"({"success": false, "message": "Bad", "errors": {"filter.country": ["must be ISO"]}})"),
            "Bad; filter.country: must be ISO");
}

TEST(ApiErrorMessage, SurvivesHtmlAndEmptyBodies) {
  EXPECT_EQ(api_error_message(""), "empty body");
  EXPECT_EQ(api_error_message("<html>\n<h1>502</h1>\n</html>"), "unexpected body: <html> <h1>502</h1> </html>");
}

}  // namespace
}  // namespace qetl
