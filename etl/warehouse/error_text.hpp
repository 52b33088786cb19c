#pragma once
// Database errors arrive as multi-line text (libpq: "ERROR:  ...\nDETAIL:  ..."); log lines and
// exit messages are one line each.
#include <string>
#include <string_view>

namespace qetl {

// Joins the lines of `text` with "; ", squeezes runs of blanks, drops a leading "ERROR:" and
// cuts the result at `max_length` characters.
std::string one_line(std::string_view text, std::size_t max_length = 600);

}  // namespace qetl
