#pragma once
// The one place secrets are blanked before anything is printed or stored.
#include <string>
#include <string_view>

namespace qetl {

inline constexpr const char* kMask = "****";

// "postgresql://etl:secret@db/x" -> "postgresql://etl:****@db/x"; also masks password=...
// in a libpq conninfo string. Other text is returned unchanged.
std::string mask_warehouse_url(std::string_view url);

// Replaces every occurrence of `secret` in `text` by "****" (no-op for an empty secret).
// A last line of defence for messages that may echo a URL (e.g. libcurl errors).
std::string redact(std::string text, std::string_view secret);

}  // namespace qetl
