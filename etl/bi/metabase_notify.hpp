#pragma once
// After a run that stored rows, tell Metabase to rescan the warehouse's schema so new tables,
// views and columns show up at once: POST {metabase_url}/api/notify/db/{id} with the body
// {"scan": "schema"} and the header X-METABASE-APIKEY (Metabase's MB_API_KEY setting).
#include <atomic>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace qetl {

struct MetabaseNotifyResult {
  bool ok = false;
  long http_status = 0;  // 0 when no answer arrived
  std::string message;   // one line for the log; never contains the key
};

// Never throws: a failure here is reported to the caller, which logs it and carries on. When
// `stop` becomes non-zero (a stop signal) the request is abandoned at once.
MetabaseNotifyResult notify_metabase(const BiConfig& bi, const std::string& metabase_api_key, double timeout_seconds,
                                     const std::optional<std::string>& ca_file,
                                     const std::atomic<int>* stop = nullptr);

}  // namespace qetl
