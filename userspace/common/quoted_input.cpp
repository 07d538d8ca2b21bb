// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "common/quoted_input.hpp"

namespace xdpgate {

namespace {
constexpr std::size_t kMaxEchoedInput = 64;
} // namespace

std::string quoted_input(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxEchoedInput; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (text.size() > kMaxEchoedInput)
    out += "...";
  return out + "\"";
}

} // namespace xdpgate
