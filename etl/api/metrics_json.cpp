#include "api/metrics_json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "util/text.hpp"

namespace qetl {
namespace {

// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&]() {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

std::string quoted(std::string_view s) { return "\"" + clean_text(s, 40) + "\""; }

class FieldReader {
 public:
  explicit FieldReader(const rapidjson::Value& data) : data_(data) {}
  const std::string& error() const { return error_; }

  // With kParseNumbersAsStringsFlag every number arrives as its source text, so a JSON
  // number and a numeric string are read the same way.
  std::optional<std::string> text(const char* field) {
    if (!error_.empty()) return std::nullopt;
    const auto it = data_.FindMember(field);
    if (it == data_.MemberEnd()) return fail(field, "missing");
    if (!it->value.IsString()) return fail(field, "is not a number");
    std::string s(it->value.GetString(), it->value.GetStringLength());
    if (!is_json_number(s)) return fail(field, quoted(s) + " is not a number");
    return s;
  }

  std::int64_t count(const char* field) {
    const auto s = text(field);
    if (!s) return 0;
    if (s->find_first_of(".eE") == std::string::npos) {
      std::int64_t v = 0;
      const auto r = std::from_chars(s->data(), s->data() + s->size(), v);
      if (r.ec == std::errc() && v >= 0) return v;
      fail(field, *s + " is out of range for a count");
      return 0;
    }
    const double d = std::strtod(s->c_str(), nullptr);
    if (!std::isfinite(d) || d < 0 || d >= 9.2e18) {
      fail(field, *s + " is out of range for a count");
      return 0;
    }
    if (d != std::floor(d)) {
      fail(field, *s + " is not a whole number");
      return 0;
    }
    return static_cast<std::int64_t>(d);
  }

  double percentage(const char* field) {
    const auto s = text(field);
    if (!s) return 0;
    const double d = std::strtod(s->c_str(), nullptr);
    if (!std::isfinite(d) || d < 0 || d > 100) {
      fail(field, *s + " is out of range for a percentage (0-100)");
      return 0;
    }
    return d;
  }

  std::string decimal(const char* field) {
    const auto s = text(field);
    if (!s) return "0";
    const double d = std::strtod(s->c_str(), nullptr);
    if (!std::isfinite(d) || std::fabs(d) >= 1e15) {
      fail(field, *s + " is out of range");
      return "0";
    }
    return *s;
  }

 private:
  std::nullopt_t fail(const char* field, const std::string& what) {
    if (error_.empty()) error_ = std::string("data.") + field + ": " + what;
    return std::nullopt;
  }

  const rapidjson::Value& data_;
  std::string error_;
};

// At most this much of a body is quoted in a message.
constexpr std::size_t kExcerptBytes = 300;

}  // namespace

MetricsParse parse_metrics_body(std::string_view body) {
  rapidjson::Document doc;
  // Iterative: a body nested 150,000 levels deep (any unknown field) costs heap, never the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    if (body.empty()) return {std::nullopt, "empty body"};
    return {std::nullopt, std::string("body is not JSON (") + rapidjson::GetParseError_En(doc.GetParseError()) +
                              " at offset " + std::to_string(doc.GetErrorOffset()) + "): " + clean_text(body, kExcerptBytes)};
  }
  if (!doc.IsObject()) return {std::nullopt, "body is not a JSON object"};
  const auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsObject()) return {std::nullopt, "body has no \"data\" object"};

  FieldReader r(data->value);
  Metrics m;
  m.clients_with_event = r.count("clientsWithEvent");
  m.active_subscribers = r.count("activeSubscribers");
  m.churned_subscribers = r.percentage("churnedSubscribers");
  m.active_trials = r.count("activeTrials");
  m.canceled_trials = r.percentage("canceledTrials");
  m.billing_retry = r.count("billingRetry");
  m.avg_payment_count = r.decimal("avgPaymentCount");
  m.avg_price = r.decimal("avgPrice");
  m.sales = r.decimal("sales");
  if (!r.error().empty()) return {std::nullopt, r.error()};
  return {m, {}};
}

std::string api_error_message(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    std::string message;
    const auto msg = doc.FindMember("message");
    if (msg != doc.MemberEnd() && msg->value.IsString()) message = msg->value.GetString();
    const auto err = doc.FindMember("error");
    if (err != doc.MemberEnd() && err->value.IsObject()) {
      const auto inner = err->value.FindMember("message");
      if (inner != err->value.MemberEnd() && inner->value.IsString()) message = inner->value.GetString();
      const auto code = err->value.FindMember("code");
      if (code != err->value.MemberEnd() && code->value.IsString()) message += std::string(" (") + code->value.GetString() + ")";
    }
    const auto errors = doc.FindMember("errors");
    if (errors != doc.MemberEnd() && errors->value.IsObject()) {
      for (auto e = errors->value.MemberBegin(); e != errors->value.MemberEnd(); ++e) {
        message += std::string("; ") + e->name.GetString() + ":";
        if (e->value.IsArray()) {
          for (const auto& item : e->value.GetArray()) {
            if (item.IsString()) message += std::string(" ") + item.GetString();
          }
        } else if (e->value.IsString()) {
          message += std::string(" ") + e->value.GetString();
        }
      }
    }
    if (!message.empty()) return clean_text(message, 400);
  }
  if (body.empty()) return "empty body";
  return "unexpected body: " + clean_text(body, kExcerptBytes);
}

}  // namespace qetl
