#pragma once
// The nine figures of one customers-metrics answer, as they are stored.
#include <cstdint>
#include <string>

namespace qetl {

struct Metrics {
  std::int64_t clients_with_event = 0;
  std::int64_t active_subscribers = 0;
  std::int64_t active_trials = 0;
  std::int64_t billing_retry = 0;
  double churned_subscribers = 0;  // percentage as the API answers it (0-100)
  double canceled_trials = 0;      // percentage as the API answers it (0-100)
  // Decimals are kept as the exact text of the JSON number (e.g. "380276.24") so the loader
  // never rounds them: PostgreSQL parses the text into numeric.
  std::string avg_payment_count = "0";
  std::string avg_price = "0";
  std::string sales = "0";

  bool operator==(const Metrics& o) const {
    return clients_with_event == o.clients_with_event && active_subscribers == o.active_subscribers &&
           active_trials == o.active_trials && billing_retry == o.billing_retry &&
           churned_subscribers == o.churned_subscribers && canceled_trials == o.canceled_trials &&
           avg_payment_count == o.avg_payment_count && avg_price == o.avg_price && sales == o.sales;
  }
};

}  // namespace qetl
