#pragma once
// What every name and value in the config must be: printable UTF-8. A NUL or control character
// in a filter value is refused by PostgreSQL (and with it the whole batch), breaks the one-line
// log and plan formats, and is never what the user meant.
#include <cstddef>
#include <string>
#include <string_view>

namespace qetl {

// Why `text` is not printable UTF-8 (invalid UTF-8, or a C0 control character, DEL or a C1
// control character U+0080-U+009F, with its 1-based byte position), or "" when it is. The
// message never contains the text itself.
std::string text_problem(std::string_view text);

// `text` in double quotes for a message, with control characters written as escapes (\x0A,
// \u0085) so that the message stays one printable line whatever the text holds.
std::string quoted_for_message(std::string_view text);

// Characters, not bytes: UTF-8 continuation bytes (10xxxxxx) do not start a character.
std::size_t utf8_length(std::string_view text);

}  // namespace qetl
