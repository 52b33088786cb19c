#pragma once
// Simulated time and a simulated API for the fetch loop and the run: every request is answered
// by a function of the test after a latency, and wait() jumps the clock to the next answer (or
// the deadline) instead of sleeping. A run of hours takes milliseconds.
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/transport.hpp"
#include "util/clock.hpp"

namespace qetl::test {

class SimulatedClock final : public Clock {
 public:
  SteadyTime now() const override { return now_; }
  UnixSeconds unix_now() const override {
    return kStartUnix + std::chrono::duration_cast<std::chrono::seconds>(now_ - SteadyTime{}).count();
  }
  void advance_to(SteadyTime t) { now_ = std::max(now_, t); }
  double seconds() const { return duration_seconds(now_ - SteadyTime{}); }

  static constexpr UnixSeconds kStartUnix = 1795000000;

 private:
  SteadyTime now_{};
};

// One request as the simulated server saw it.
struct SimRequest {
  bool opens_connection = false;  // the first request of its key: the handshake delays its arrival
  std::string url;
  std::string key;    // the path segment before /customers-metrics
  std::string query;  // after '?'
  SteadyTime sent_at{};
  int number = 0;     // 0, 1, 2, ... in the order sent
};

struct SimReply {
  HttpResult result;
  Duration latency = std::chrono::milliseconds(20);
};

inline SimReply ok_reply(std::int64_t clients = 10) {
  SimReply r;
  r.result.status = 200;
  r.result.body = R"({"data":{"clientsWithEvent":)" + std::to_string(clients) +
                  R"(,"activeSubscribers":2,"churnedSubscribers":1.5,"activeTrials":1,"canceledTrials":0,)"
                  R"("billingRetry":0,"avgPaymentCount":1.25,"avgPrice":9.99,"sales":100.5}})";
  return r;
}

inline SimReply status_reply(long status, std::string body = R"({"success":false,"message":"x","errors":null})") {
  SimReply r;
  r.result.status = status;
  r.result.body = std::move(body);
  return r;
}

inline SimReply transport_reply(TransportError e, Duration latency = std::chrono::seconds(1)) {
  SimReply r;
  r.result.transport = e;
  r.result.transport_message = "simulated";
  r.latency = latency;
  return r;
}

class SimulatedApi final : public Transport {
 public:
  using Server = std::function<SimReply(const SimRequest&)>;

  SimulatedApi(SimulatedClock& clock, Server server) : clock_(clock), server_(std::move(server)) {}

  RequestId start(const std::string& url) override {
    SimRequest req;
    req.url = url;
    const std::size_t end = url.find("/customers-metrics");
    const std::size_t begin = url.rfind('/', end - 1) + 1;
    req.key = url.substr(begin, end - begin);
    req.query = url.substr(url.find('?') + 1);
    req.sent_at = clock_.now();
    req.number = static_cast<int>(sent.size());
    req.opens_connection = connected_keys_.count(req.key) == 0;
    sent.push_back(req);
    SimReply reply = server_(req);
    reply.result.opened_connection = connected_keys_.insert(req.key).second;
    const RequestId id = next_id_++;
    pending_.emplace(id, Pending{clock_.now() + reply.latency, std::move(reply.result)});
    return id;
  }

  std::vector<std::pair<RequestId, HttpResult>> wait(SteadyTime deadline) override {
    std::vector<std::pair<RequestId, HttpResult>> done = std::move(aborted_);
    aborted_.clear();
    if (!done.empty()) return done;
    SteadyTime first = SteadyTime::max();
    for (const auto& [id, p] : pending_) first = std::min(first, p.due);
    if (first > deadline) {
      clock_.advance_to(deadline);
      return done;
    }
    clock_.advance_to(first);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.due <= first) {
        done.emplace_back(it->first, std::move(it->second.result));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    if (on_deliver) on_deliver(done);
    return done;
  }

  void abort_all() override {
    for (auto& [id, p] : pending_) {
      HttpResult r;
      r.transport = TransportError::aborted;
      aborted_.emplace_back(id, std::move(r));
    }
    pending_.clear();
  }

  std::size_t in_flight() const { return pending_.size(); }

  std::vector<SimRequest> sent;
  // Called with the answers wait() is about to hand over (e.g. to raise a stop signal then).
  std::function<void(const std::vector<std::pair<RequestId, HttpResult>>&)> on_deliver;

 private:
  struct Pending {
    SteadyTime due;
    HttpResult result;
  };
  SimulatedClock& clock_;
  Server server_;
  RequestId next_id_ = 1;
  std::map<RequestId, Pending> pending_;
  std::set<std::string> connected_keys_;  // keys whose connection is open (kept alive)
  std::vector<std::pair<RequestId, HttpResult>> aborted_;
};

// A server's rate limit as real ones implement it: a token bucket per key of `burst` tokens
// refilled at `per_minute`; burst 1 and no tolerance is the strict case. Requests arrive after
// half the latency plus a deterministic jitter of up to `jitter`, and a request that opens its
// connection after the handshake too, as they do on a real network.
class TokenBucketLimit {
 public:
  TokenBucketLimit(double per_minute, double burst, Duration jitter = std::chrono::milliseconds(4),
                   double handshake_seconds = 0.01)
      : interval_(60.0 / per_minute), burst_(burst), jitter_(jitter), handshake_(handshake_seconds) {}

  // True when the request is allowed; refused requests consume nothing.
  bool allow(const SimRequest& req) {
    const double arrival = duration_seconds(req.sent_at - SteadyTime{}) + 0.01 + jitter_of(req.number) +
                           (req.opens_connection ? handshake_ : 0.0);
    auto [it, fresh] = tat_.emplace(req.key, arrival);
    double& tat = it->second;
    const double tolerance = (burst_ - 1) * interval_;
    if (arrival < tat - tolerance - 1e-9) return false;
    tat = std::max(tat, arrival) + interval_;
    return true;
  }

 private:
  double jitter_of(int n) const {
    // A fixed pseudo-random sequence in [-jitter, +jitter].
    const unsigned h = static_cast<unsigned>(n) * 2654435761u;
    return duration_seconds(jitter_) * ((static_cast<double>(h % 2001) / 1000.0) - 1.0);
  }

  double interval_;
  double burst_;
  Duration jitter_;
  double handshake_;  // extra delay of a request that opens its connection
  std::map<std::string, double> tat_;
};

}  // namespace qetl::test
