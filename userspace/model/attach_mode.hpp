// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// How the operator asks the XDP program to be attached (config key
// attach_mode); the data path says what the kernel gave.
#pragma once

#include <string_view>

namespace xdpgate {

// auto: native where the driver supports it, else generic.
enum class AttachMode { Auto, Native, Generic };

constexpr std::string_view to_string(AttachMode mode) {
  switch (mode) {
  case AttachMode::Native:
    return "native";
  case AttachMode::Generic:
    return "generic";
  case AttachMode::Auto:
    break;
  }
  return "auto";
}

} // namespace xdpgate
