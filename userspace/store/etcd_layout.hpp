// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Where the fleet's list lives under the [etcd] prefix, and what each value
// holds (docs/FLEET.md explains the layout to an operator):
//   <prefix>list/head            {"format":2,"generation":G,"chunks":N}
//   <prefix>list/state           the restriction state
//   <prefix>list/gen/<G>/<id>    an entry of generation G changed since G
//                                was written, or its tombstone
//   <prefix>chunks/<G>/<k>       generation G as written: N chunks of
//                                entries, k = 000000 ... N-1
//   <prefix>list/audit-last      {"last":N}: the audit's last sequence
//   <prefix>audit/<first>        a change's audit records: which, and where
//                                {"first","records","host","body","bytes"}
//   <prefix>audit-body/<token>/<i>/<part>
//                                record i of that change, in parts
//   <prefix>hosts/<name>         a daemon, on its lease: the revision it
//                                applied
// The list is generation G (the head's): its chunks, with each entry under
// list/gen/<G>/ in place of the chunk's. Every change to the list rewrites
// the head in the same transaction, on condition that the head is still at
// the revision the writer has applied: writers take turns through that one
// key, so a rule checked against the applied list (a range listed once, the
// last enabled entry) holds against etcd's. A whole-list change writes a new
// generation's chunks, then names it in the head: every host switches from
// the whole old list to the whole new one. Daemons watch list/ only: a
// generation's chunks are read once, when the head names it, never sent
// to every watcher as they are written.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "model/entry.hpp"
#include "store/store.hpp"

namespace xdpgate {

class EtcdLayout {
public:
  explicit EtcdLayout(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string &prefix() const { return prefix_; }
  // What the daemons watch: every key under it.
  std::string list() const { return prefix_ + "list/"; }
  std::string head() const { return list() + "head"; }
  std::string state() const { return list() + "state"; }
  // The entries of generation G changed since it was written.
  std::string changed(std::string_view generation) const {
    return list() + "gen/" + std::string(generation) + "/";
  }
  std::string entry(std::string_view gen, std::string_view id) const {
    return changed(gen) + std::string(id);
  }
  std::string chunks(std::string_view generation) const {
    return prefix_ + "chunks/" + std::string(generation) + "/";
  }
  std::string chunk(std::string_view generation, std::size_t k) const;
  std::string audit_last() const { return list() + "audit-last"; }
  std::string audit() const { return prefix_ + "audit/"; }
  // A change's records: its first record's sequence, zero-padded.
  std::string audit_index(std::int64_t first) const;
  std::string audit_body(std::string_view token) const {
    return prefix_ + "audit-body/" + std::string(token) + "/";
  }
  std::string audit_record(std::string_view token, std::size_t record) const;
  std::string audit_part(std::string_view token, std::size_t record,
                         std::size_t part) const;
  std::string hosts() const { return prefix_ + "hosts/"; }
  std::string host(std::string_view name) const {
    return hosts() + std::string(name);
  }

  // What a key under the prefix is.
  struct Key {
    enum class Kind { Head, State, AuditLast, Entry, Chunk, Host, Other };
    Kind kind = Kind::Other;
    std::string_view generation; // Entry, Chunk
    std::string_view name; // Entry: the id; Chunk: k; Host: the host's name
  };
  Key classify(std::string_view key) const;

private:
  std::string prefix_;
};

struct Head {
  std::string generation;
  std::size_t chunks = 0; // under chunks/<generation>/
  bool operator==(const Head &) const = default;
};

// A chunk takes entries until its value reaches kChunkBytes, which keeps
// each put well under etcd's 1.5 MiB request limit (--max-request-bytes)
// even after the JSON gateway's base64.
constexpr std::size_t kChunkBytes = 512 * 1024;

// A new generation's name, or an audit body's: 16 random hex digits.
std::string new_token();

// Values as xdpgated writes them. The readers check every field: a value
// written by hand (etcdctl) or damaged is an error, which the caller logs,
// counts and ignores.
std::string head_value(const Head &head);
Result<Head> parse_head(std::string_view value);
std::string state_value(const RestrictionState &state);
Result<RestrictionState> parse_state(std::string_view value);
std::string entry_value(const Entry &entry);
// `id`: the key's; the value must carry the same.
Result<Entry> parse_entry(std::string_view id, std::string_view value);
// An entry deleted from a generation's chunks: {"id":...,"deleted":true}.
std::string tombstone_value(std::string_view id);
// A value under list/gen/<G>/: the entry, or nullopt for its tombstone.
Result<std::optional<Entry>> parse_changed(std::string_view id,
                                           std::string_view value);
// A chunk: {"fields":[...],"entries":[[...],...]}, each entry an array of
// the fields entry_value() names, in that order (half the bytes of an
// object each, for lists of a million). Takes entries from the front of
// `entries` until the value reaches kChunkBytes; `taken`: how many.
std::string chunk_value(std::span<const Entry> entries, std::size_t &taken);
struct Chunk {
  std::vector<Entry> entries;
  std::vector<std::string> refused; // why each entry left out was refused
};
Result<Chunk> parse_chunk(std::string_view value);
// The ids a generation's chunks hold, as hashes: deleting one of them
// takes a tombstone, deleting any other entry only its key. A collision
// costs a needless tombstone, never a wrong list.
class ChunkedIds {
public:
  ChunkedIds() = default;
  explicit ChunkedIds(std::vector<std::uint64_t> hashes);
  static std::uint64_t hash(std::string_view id);
  bool holds(std::string_view id) const;

private:
  std::vector<std::uint64_t> hashes_; // sorted
};

// The audit of one change (SPEC §2): records first ... first + records - 1,
// written by `host`, kept under audit-body/<body>/, `bytes` in all.
struct AuditIndex {
  std::int64_t first = 0;
  std::int64_t records = 0;
  std::string host;
  std::string body;
  std::uint64_t bytes = 0;
  bool operator==(const AuditIndex &) const = default;
};
// The audit log's retention: of the changes' indexes, newest first, how
// many to keep: the newest kAuditChanges, fewer when they hold more than
// kAuditBytes, and always the newest, whatever its size.
constexpr std::size_t kAuditChanges = 1000;
constexpr std::uint64_t kAuditBytes = 64ull << 20;
std::size_t audit_changes_kept(std::span<const AuditIndex> newest_first);

std::string audit_last_value(std::int64_t last);
Result<std::int64_t> parse_audit_last(std::string_view value);
std::string audit_index_value(const AuditIndex &index);
Result<AuditIndex> parse_audit_index(std::string_view value);
// A record without its sequence and host (the index has them); before and
// after stay the JSON text the list layer made.
std::string audit_record_value(const AuditRecord &record);
Result<AuditRecord> parse_audit_record(std::string_view value);

// A host's registration: the revision it applied and when.
std::string host_value(std::int64_t revision, std::optional<EpochMs> at);
Result<FleetHost> parse_host(std::string_view name, std::string_view value);

} // namespace xdpgate
