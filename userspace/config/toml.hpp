// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// toml++, with the parser's internal checks made exceptions. toml++ 3.3
// (Debian 12's) checks its own preconditions with assert(), and some inputs
// break them ("a = [}", "[=]"): assert() would abort the daemon, and under
// NDEBUG the checks become assumptions, i.e. undefined behaviour. Here a
// failed check throws TomlCheckFailed, which parse_config reports as an
// invalid file. Every file that includes toml++ must include it through
// this header, so that the library's inline code is the same everywhere.
#pragma once

#include <stdexcept>

namespace xdpgate {
struct TomlCheckFailed : std::logic_error {
  using std::logic_error::logic_error;
};
// Throws TomlCheckFailed. Out of line: a few checks sit in noexcept
// functions, where a failure still ends the process (std::terminate).
[[noreturn]] void toml_check_failed(const char *check);
} // namespace xdpgate

#ifdef NDEBUG // toml++ would turn its checks into assumptions
#undef NDEBUG
#define XDPGATE_TOML_RESTORE_NDEBUG
#endif
#define TOML_ASSERT(expr)                                                      \
  ((expr) ? static_cast<void>(0) : ::xdpgate::toml_check_failed(#expr))
// Built with exceptions so the same code works header-only and against the
// shared libtomlplusplus; parse_config turns the exceptions into an Error.
#include <toml++/toml.h>
#ifdef XDPGATE_TOML_RESTORE_NDEBUG
#define NDEBUG
#undef XDPGATE_TOML_RESTORE_NDEBUG
#endif
