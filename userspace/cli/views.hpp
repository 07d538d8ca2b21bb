// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// How the API's objects read to an operator: entries as a table or as
// key: value lines, the restriction state as one sentence.
#pragma once

#include <ostream>
#include <string>

#include "cli/json.hpp"

namespace xdpgate::cli {

// ID, RANGE, ENABLED, DESCRIPTION, CREATED_BY, HITS, LAST HIT (and EXPIRES
// when an entry expires).
void print_entry_table(std::ostream &out, const json &entries);
// Every field of one entry, one per line.
void print_entry(std::ostream &out, const json &entry);
// "enforce (restriction active)", "off (restriction inactive)".
std::string restriction_text(const json &state);
// "mode " and restriction_text, plus the confirmation deadline of a
// provisional activation.
void print_restriction(std::ostream &out, const json &state);
// How one entry is named in a sentence: "ip_3kq9x2m7ab (203.0.113.0/24)".
std::string entry_name(const json &entry);

} // namespace xdpgate::cli
