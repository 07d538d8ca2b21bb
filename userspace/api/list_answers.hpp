// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The answers that carry a whole list: entries (GET of the list, the
// answer of PUT) and the CSV export. Made from a snapshot, piece by piece: a
// small answer is sent whole, a large one streamed as it is made (chunked), so
// that a million entries cost the daemon their snapshot, not their text.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/http_message.hpp"
#include "list/list_snapshot.hpp"

namespace xdpgate::api {

// The i-th of `count` entries; it owns what it reads, as the answer may be
// made after the handler has returned.
using EntryAt = std::function<EntryView(std::size_t i)>;

// {"items": [...], ...rest}: the `count` entries, then `rest`'s members (one
// at least, each named after "items"), byte for byte the text json_text()
// makes of the whole object.
void send_entries(Response &res, std::size_t count, EntryAt entry_at,
                  const nlohmann::json &rest);

// The snapshot's entries as CSV (csv.hpp's export format).
void send_csv_export(Response &res,
                     std::shared_ptr<const ListSnapshot> snapshot);

} // namespace xdpgate::api
