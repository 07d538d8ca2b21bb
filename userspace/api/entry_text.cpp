// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/entry_text.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "api/responses.hpp"

namespace xdpgate::api {

namespace {

// Printable ASCII other than '"' and '\' is the one text JSON writes as it
// is; anything else (escapes, UTF-8, invalid bytes to replace) is left to the
// library, so that it comes out as in every other answer.
bool needs_no_escape(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
}

void append_string(std::string &out, std::string_view text) {
  if (!needs_no_escape(text)) {
    out += json_text(nlohmann::json(text));
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

template <typename Number> void append_number(std::string &out, Number n) {
  char digits[24];
  const auto [end, ignored] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

template <typename T>
void append_or_null(std::string &out, const std::optional<T> &value) {
  if (!value)
    out += "null";
  else if constexpr (std::is_same_v<T, std::string>)
    append_string(out, *value);
  else
    append_number(out, *value);
}

} // namespace

// The members in the library's order (its objects sort their keys).
void append_entry_text(std::string &out, const EntryView &view) {
  const Entry &e = view.entry;
  out += R"({"created_at":)";
  append_number(out, e.created_at);
  out += R"(,"created_by":)";
  append_string(out, e.created_by);
  out += R"(,"description":)";
  append_or_null(out, e.description);
  out += e.enabled ? R"(,"enabled":true)" : R"(,"enabled":false)";
  out += R"(,"expires_at":)";
  append_or_null(out, e.expires_at);
  out += R"(,"hits":)";
  append_number(out, view.hits);
  out += R"(,"id":)";
  append_string(out, e.id);
  out += R"(,"ip_range":")";
  out += e.range.to_string();
  out += R"(","last_hit_at":)";
  append_or_null(out, view.last_hit_at);
  out += R"(,"updated_at":)";
  append_or_null(out, e.updated_at);
  out += '}';
}

} // namespace xdpgate::api
