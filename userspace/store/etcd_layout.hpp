// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Where the fleet's list lives under the [etcd] prefix, and what each value
// holds (docs/FLEET.md explains the layout to an operator):
//   <prefix>head              {"format":1,"generation":G}
//   <prefix>state             the restriction state
//   <prefix>gen/<G>/<id>      one entry of generation G, the list when the
//                             head names G
//   <prefix>hosts/<name>      a daemon, on its lease: the revision it applied
// Every change to the list rewrites the head in the same transaction, on
// condition that the head is still at the revision the writer has applied:
// writers take turns through that one key, so a rule checked against the
// applied list (a range listed once, the last enabled entry) holds against
// etcd's. A replace writes a new generation in chunks, then names it in the
// head: every host switches from the whole old list to the whole new one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "model/entry.hpp"
#include "store/store.hpp"

namespace xdpgate {

class EtcdLayout {
public:
  explicit EtcdLayout(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string &prefix() const { return prefix_; }
  std::string head() const { return prefix_ + "head"; }
  std::string state() const { return prefix_ + "state"; }
  std::string generation(std::string_view generation) const {
    return prefix_ + "gen/" + std::string(generation) + "/";
  }
  std::string entry(std::string_view gen, std::string_view id) const {
    return generation(gen) + std::string(id);
  }
  std::string hosts() const { return prefix_ + "hosts/"; }
  std::string host(std::string_view name) const {
    return hosts() + std::string(name);
  }

  // What a key under the prefix is.
  struct Key {
    enum class Kind { Head, State, Entry, Host, Other };
    Kind kind = Kind::Other;
    std::string_view generation; // Entry
    std::string_view name;       // Entry: the id; Host: the host's name
  };
  Key classify(std::string_view key) const;

private:
  std::string prefix_;
};

struct Head {
  std::string generation;
  bool operator==(const Head &) const = default;
};

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
// A host's registration: the revision it applied and when.
std::string host_value(std::int64_t revision, std::optional<EpochMs> at);
Result<FleetHost> parse_host(std::string_view name, std::string_view value);

} // namespace xdpgate
