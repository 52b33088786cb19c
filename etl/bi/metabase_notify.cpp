// Placeholder until the notification is written (same session).
#include "bi/metabase_notify.hpp"

namespace qetl {

MetabaseNotifyResult notify_metabase(const BiConfig&, const std::string&, double, const std::optional<std::string>&) {
  return {false, 0, "Metabase notification is not implemented"};
}

}  // namespace qetl
