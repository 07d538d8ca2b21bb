// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A JSON array of entries read straight into NewEntry values, without
// building the JSON tree first: for a million entries the tree and the
// checks around it took two seconds and hundreds of megabytes, to be thrown
// away at once.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "list/list_service.hpp"

namespace xdpgate::api {

// The entries of `text` when it is exactly what list_input.hpp's
// new_entries_from() accepts: an array of objects with only the fields
// ip_range (a string), description (a string or null), enabled (true or
// false) and expires_at (a positive integer or null), each given once, and
// ip_range in every one. Anything else gives nullopt: the caller then parses
// the body as JSON, which says what is wrong, and where, as for any body.
std::optional<std::vector<NewEntry>> plain_entry_array(std::string_view text);

} // namespace xdpgate::api
