#include "warehouse/error_text.hpp"

namespace qetl {

std::string one_line(std::string_view text, std::size_t max_length) {
  std::string out;
  bool pending_break = false;
  bool pending_space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      pending_break = !out.empty();
      pending_space = false;
    } else if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
    } else {
      if (pending_break) {
        out += "; ";
      } else if (pending_space) {
        out += ' ';
      }
      pending_break = pending_space = false;
      out += c;
    }
  }
  constexpr std::string_view kError = "ERROR: ";
  if (out.compare(0, kError.size(), kError) == 0) out.erase(0, kError.size());
  if (out.size() > max_length) out = out.substr(0, max_length) + "...";
  return out;
}

}  // namespace qetl
