// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Echoing what the operator sent inside an error message.
#pragma once

#include <string>
#include <string_view>

namespace xdpgate {

// `text` in double quotes. Non-printable bytes become \xNN so that
// whitespace is visible and the message is always valid UTF-8; long input is
// cut so a hostile CSV cannot blow up the error list.
std::string quoted_input(std::string_view text);

} // namespace xdpgate
