// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The answers that carry a whole list: a page of entries (GET of the list)
// and the CSV export. Made from a snapshot, piece by piece: a small answer
// is sent whole, a large one streamed as it is made (chunked), so that a
// million entries cost the daemon their snapshot, not their text.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "api/http_message.hpp"
#include "list/list_snapshot.hpp"

namespace xdpgate::api {

// {"items": [...], ...rest}: the entries of `snapshot`, then `rest`'s
// members (one at least, each named after "items"), byte for byte the text
// json_text() makes of the whole object.
void send_entries(Response &res, std::shared_ptr<const ListSnapshot> snapshot,
                  const nlohmann::json &rest);

// The snapshot's entries as CSV (csv.hpp's export format).
void send_csv_export(Response &res,
                     std::shared_ptr<const ListSnapshot> snapshot);

} // namespace xdpgate::api
