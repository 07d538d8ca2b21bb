// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The rules for an entry's description, shared by the API and CSV import:
// at most 256 bytes of valid UTF-8, one line, no control characters except
// tab. An empty description is valid here; callers treat it as "none".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace xdpgate {

inline constexpr std::size_t kMaxDescriptionBytes = 256;

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// Why `text` is not an acceptable description (a sentence naming the
// field "description"), or nullopt when it is.
std::optional<std::string> description_error(std::string_view text);

} // namespace xdpgate
