// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// An entry's JSON text written straight into a buffer, byte for byte the
// text json_text(to_json(view)) makes. A GET of a million entries makes a
// million of them: building a JSON object for each, then its text, took
// three quarters of that answer's time.
#pragma once

#include <string>

#include "list/list_service.hpp"

namespace xdpgate::api {

void append_entry_text(std::string &out, const EntryView &view);

} // namespace xdpgate::api
