// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The parts of etcd's v3 API that xdpgate uses, as plain values: keys and
// values are raw bytes here (the JSON gateway's base64 stays in
// etcd_json.cpp), revisions are integers (the gateway's are strings).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace xdpgate::etcd {

// Where etcd is and how to reach it (SPEC §7, the [etcd] table).
struct Options {
  std::vector<std::string> endpoints; // "http://host:port" or "https://..."
  std::string cacert = {}; // TLS: the CA that signed etcd's certificate
  std::string cert = {};   // TLS: this host's client certificate
  std::string key = {};    // and its key
  std::chrono::milliseconds connect_timeout{1000};
  // A request's bound, connection included (not the watch's: a watch stays
  // open while nothing changes).
  std::chrono::milliseconds request_timeout{5000};
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

// Every key in [key, range_end); an empty range_end: only `key`.
struct Range {
  std::string key;
  std::string range_end = {};
  std::int64_t revision = 0; // 0: the newest
  std::int64_t limit = 0;    // 0: no limit
  bool keys_only = false;    // values left out
};

struct RangeResult {
  std::int64_t revision = 0; // the store's revision the answer is from
  std::vector<KeyValue> kvs;
  bool more = false;      // `limit` left keys out
  std::int64_t count = 0; // keys in the range
};

struct Put {
  std::string key;
  std::string value;
  std::int64_t lease = 0; // 0: none
};

struct DeleteRange {
  std::string key;
  std::string range_end = {};
};

using Operation = std::variant<Put, DeleteRange, Range>;

// A condition of a transaction on one key (or, with range_end, on every key
// of a range).
struct Compare {
  enum class Target { Version, Create, Mod, Value };
  enum class Result { Equal, Greater, Less, NotEqual };
  std::string key;
  Target target = Target::Mod;
  Result result = Result::Equal;
  std::int64_t number = 0; // Version, Create, Mod
  std::string value = {};  // Value
  std::string range_end = {};
};

struct Txn {
  std::vector<Compare> compare;
  std::vector<Operation> success;
  std::vector<Operation> failure = {};
};

struct TxnResult {
  std::int64_t revision = 0;
  bool succeeded = false;
  // The answers of the Range operations of the branch that ran, in order.
  std::vector<RangeResult> ranges;
};

struct Event {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  KeyValue kv; // a Delete has the key and its mod_revision only
};

// One message of a watch stream.
struct WatchMessage {
  std::int64_t revision = 0; // the store's revision when it was sent
  bool created = false;      // the first message: the watch is in place
  bool canceled = false;     // the last message: etcd ended the watch
  // Set when canceled because the start revision was compacted: the
  // history before it is gone, so the watcher must list again.
  std::int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<Event> events; // in revision order
};

// The end of the range of every key that starts with `prefix`.
std::string prefix_end(const std::string &prefix);

} // namespace xdpgate::etcd
