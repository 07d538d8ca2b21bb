// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What etcd (or anyone who can write under the prefix) hands xdpgated, on
// arbitrary bytes: the gateway's answers and watch lines, base64, and the
// fleet's values. The first byte picks the reader, the rest is its input.
// Properties: nothing crashes; base64 that decodes encodes back to the same
// text; an entry, head or state that is accepted reads back the same from
// what xdpgated would write for it (a chunk's entries, a changed entry or
// its tombstone, an audit index too); the watch stream's framing hands out
// the same lines however the bytes are cut.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "etcd/etcd_json.hpp"
#include "store/etcd_layout.hpp"

namespace {

using namespace xdpgate;

[[noreturn]] void fail(std::string_view input, const char *why) {
  std::fprintf(stderr, "etcd_fuzz: %s\n  input: \"%.*s\" (%zu bytes)\n", why,
               static_cast<int>(input.size()), input.data(), input.size());
  std::abort();
}

void framing(std::string_view input) {
  std::vector<std::string> whole, cut;
  etcd::LineFraming one, two;
  one.feed(input, [&](std::string_view line) { whole.emplace_back(line); });
  const std::size_t at = input.size() / 3;
  two.feed(input.substr(0, at),
           [&](std::string_view line) { cut.emplace_back(line); });
  two.feed(input.substr(at),
           [&](std::string_view line) { cut.emplace_back(line); });
  if (whole != cut || one.pending() != two.pending())
    fail(input, "framing depends on where the bytes are cut");
  for (const std::string &line : whole)
    (void)etcd::parse_watch_line(line);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  const std::string_view input(reinterpret_cast<const char *>(data) + 1,
                               size - 1);
  switch (data[0] % 8) {
  case 0:
    framing(input);
    break;
  case 1:
    (void)etcd::parse_range(200, input);
    (void)etcd::parse_range(400, input);
    break;
  case 2:
    (void)etcd::parse_txn(200, input);
    (void)etcd::parse_lease_keep_alive(200, input);
    break;
  case 3:
    if (Result<std::string> bytes = etcd::base64_decode(input);
        bytes && etcd::base64_encode(*bytes) != input)
      fail(input, "base64 decodes but does not encode back");
    break;
  case 4:
    if (Result<Entry> entry = parse_entry("ip_0123456789", input)) {
      Result<Entry> again = parse_entry(entry->id, entry_value(*entry));
      if (!again || !(*again == *entry))
        fail(input, "an accepted entry does not read back as written");
    }
    break;
  case 5:
    if (Result<Head> head = parse_head(input)) {
      Result<Head> again = parse_head(head_value(*head));
      if (!again || !(*again == *head))
        fail(input, "an accepted head does not read back as written");
    }
    (void)parse_host("edge-1", input);
    break;
  case 6:
    if (Result<RestrictionState> state = parse_state(input)) {
      Result<RestrictionState> again = parse_state(state_value(*state));
      if (!again || !(*again == *state))
        fail(input, "an accepted state does not read back as written");
    }
    break;
  case 7:
    if (Result<Chunk> chunk = parse_chunk(input)) {
      std::size_t taken = 0;
      Result<Chunk> again = parse_chunk(chunk_value(chunk->entries, taken));
      if (!again || again->entries != chunk->entries || !again->refused.empty())
        fail(input, "an accepted chunk does not read back as written");
    }
    if (Result<std::optional<Entry>> changed =
            parse_changed("ip_0123456789", input)) {
      Result<std::optional<Entry>> again = parse_changed(
          "ip_0123456789",
          *changed ? entry_value(**changed) : tombstone_value("ip_0123456789"));
      if (!again || *again != *changed)
        fail(input, "an accepted changed entry does not read back");
    }
    if (Result<AuditIndex> index = parse_audit_index(input)) {
      Result<AuditIndex> again = parse_audit_index(audit_index_value(*index));
      if (!again || !(*again == *index))
        fail(input, "an accepted audit index does not read back");
    }
    (void)parse_audit_record(input);
    (void)parse_audit_last(input);
    break;
  }
  return 0;
}
