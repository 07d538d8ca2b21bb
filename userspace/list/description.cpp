// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/description.hpp"

#include <cstdint>

namespace xdpgate {
namespace {

// Decodes one code point starting at text[i] and advances i past it.
// Returns nullopt for any ill-formed sequence (RFC 3629, table 3-7 of
// the Unicode standard).
std::optional<char32_t> decode_one(std::string_view text, std::size_t &i) {
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  std::uint8_t lead = byte(i);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  int extra = lead >= 0xc2 && lead <= 0xdf   ? 1
              : lead >= 0xe0 && lead <= 0xef ? 2
              : lead >= 0xf0 && lead <= 0xf4 ? 3
                                             : -1;
  if (extra < 0 || i + extra >= text.size())
    return std::nullopt;
  char32_t cp = lead & (0x3f >> extra);
  for (int k = 1; k <= extra; ++k) {
    std::uint8_t cont = byte(i + k);
    if ((cont & 0xc0) != 0x80)
      return std::nullopt;
    cp = cp << 6 | (cont & 0x3f);
  }
  static constexpr char32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[extra] || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return std::nullopt;
  i += extra + 1;
  return cp;
}

// Line breaks and other controls would corrupt the CLI's tables and the
// one-line-per-entry CSV export; tab is harmless and common in pastes.
bool is_forbidden_control(char32_t cp) {
  return (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
}

} // namespace

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();)
    if (!decode_one(text, i))
      return false;
  return true;
}

std::optional<std::string> description_error(std::string_view text) {
  if (text.size() > kMaxDescriptionBytes)
    return "description must be at most " +
           std::to_string(kMaxDescriptionBytes) + " UTF-8 bytes (it has " +
           std::to_string(text.size()) + ")";
  for (std::size_t i = 0; i < text.size();) {
    auto cp = decode_one(text, i);
    if (!cp)
      return "description is not valid UTF-8";
    if (is_forbidden_control(*cp))
      return "description must not contain line breaks or other control "
             "characters (tab is allowed)";
  }
  return std::nullopt;
}

} // namespace xdpgate
