// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/etcd_layout.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

namespace xdpgate {
namespace {

using nlohmann::json;

constexpr int kFormat = 2;
// An entry's fields: the keys of its object, the order of its row in a
// chunk.
constexpr const char *kFields[] = {
    "id",         "ip_range",   "description", "enabled",   "created_by",
    "created_at", "updated_at", "expires_at",  "past_hits", "past_last_hit_at"};
enum Field : std::size_t {
  Id,
  Range,
  Description,
  Enabled,
  CreatedBy,
  CreatedAt,
  UpdatedAt,
  ExpiresAt,
  PastHits,
  PastLastHitAt,
  FieldCount
};
static_assert(std::size(kFields) == FieldCount);
// The API's limit on a description (SPEC §2).
constexpr std::size_t kDescriptionBytes = 256;

// "ip_" and lowercase base36, as xdpgated makes ids (model/entry.hpp).
bool is_entry_id(std::string_view id) {
  if (id.size() <= 3 || id.size() > 15 || id.substr(0, 3) != "ip_")
    return false;
  for (char c : id.substr(3))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
      return false;
  return true;
}

Error invalid(const std::string &what) {
  return Error{ErrorCode::StoreCorrupt, what};
}

json or_null(const std::optional<std::int64_t> &value) {
  return value ? json(*value) : json(nullptr);
}

// An integer; anything else throws. Never a float: converting one out of
// range is undefined.
std::int64_t integer(const json &value, const char *name) {
  if (!value.is_number_integer())
    throw std::invalid_argument(std::string(name) + " is not an integer");
  return value.get<std::int64_t>();
}
std::int64_t integer_field(const json &object, const char *name) {
  return integer(object.at(name), name);
}

// An optional integer: null is none; any other type throws.
std::optional<std::int64_t> optional_number(const json &value,
                                            const char *name) {
  if (value.is_null())
    return std::nullopt;
  return integer(value, name);
}
// Absent is none too.
std::optional<std::int64_t> optional_field(const json &object,
                                           const char *name) {
  auto it = object.find(name);
  return it == object.end() ? std::nullopt : optional_number(*it, name);
}

json entry_row(const Entry &entry) {
  return json::array(
      {entry.id, entry.range.to_string(),
       entry.description ? json(*entry.description) : json(nullptr),
       entry.enabled, entry.created_by, entry.created_at,
       or_null(entry.updated_at), or_null(entry.expires_at), entry.past_hits,
       or_null(entry.past_last_hit_at)});
}

// An entry from its row; a field of the wrong type throws.
Result<Entry> entry_of_row(const json &row) {
  if (!row.is_array() || row.size() != FieldCount)
    return invalid("an entry is not an array of " + std::to_string(FieldCount) +
                   " fields");
  Entry entry;
  entry.id = row[Id].get<std::string>();
  if (!is_entry_id(entry.id))
    return invalid("\"" + entry.id + "\" is not an entry id xdpgated makes");
  Result<IpPrefix> range = IpPrefix::parse(row[Range].get<std::string>());
  if (!range || range->to_string() != row[Range])
    return invalid("entry " + entry.id +
                   " has no canonical ip_range: " + row[Range].dump());
  entry.range = *range;
  if (const json &d = row[Description]; !d.is_null()) {
    entry.description = d.get<std::string>();
    if (entry.description->size() > kDescriptionBytes)
      return invalid("entry " + entry.id + " has a description over " +
                     std::to_string(kDescriptionBytes) + " bytes");
  }
  entry.enabled = row[Enabled].get<bool>();
  entry.created_by = row[CreatedBy].get<std::string>();
  entry.created_at = integer(row[CreatedAt], kFields[CreatedAt]);
  entry.updated_at = optional_number(row[UpdatedAt], kFields[UpdatedAt]);
  entry.expires_at = optional_number(row[ExpiresAt], kFields[ExpiresAt]);
  if (!row[PastHits].is_number_unsigned())
    return invalid("entry " + entry.id + " has past_hits that are not a count");
  entry.past_hits = row[PastHits].get<std::uint64_t>();
  entry.past_last_hit_at =
      optional_number(row[PastLastHitAt], kFields[PastLastHitAt]);
  return entry;
}

// entry_of_row, with a field of the wrong type refused, not thrown.
Result<Entry> read_row(const json &row) {
  try {
    return entry_of_row(row);
  } catch (const std::exception &e) {
    return invalid(std::string("an entry: ") + e.what());
  }
}

template <typename T, typename F>
Result<T> read_value(std::string_view value, const char *what, F &&read) {
  try {
    json object = json::parse(value);
    if (!object.is_object())
      return invalid(std::string(what) + " is not a JSON object");
    return read(object);
  } catch (const std::exception &e) {
    return invalid(std::string(what) + ": " + e.what());
  }
}

// Zero-padded, so that etcd lists the keys in order.
std::string padded(std::uint64_t number, std::size_t digits) {
  std::string text = std::to_string(number);
  if (text.size() < digits)
    text.insert(0, digits - text.size(), '0');
  return text;
}

} // namespace

EtcdLayout::Key EtcdLayout::classify(std::string_view key) const {
  Key out;
  if (key.substr(0, prefix_.size()) != prefix_)
    return out;
  const std::string_view rest = key.substr(prefix_.size());
  if (rest == "list/head") {
    out.kind = Key::Kind::Head;
  } else if (rest == "list/state") {
    out.kind = Key::Kind::State;
  } else if (rest == "list/audit-last") {
    out.kind = Key::Kind::AuditLast;
  } else if (rest.starts_with("list/gen/") || rest.starts_with("chunks/")) {
    const bool chunk = rest.starts_with("chunks/");
    const std::string_view path = rest.substr(chunk ? 7 : 9);
    const std::size_t slash = path.find('/');
    if (slash != std::string_view::npos && slash > 0 &&
        slash + 1 < path.size() &&
        path.find('/', slash + 1) == std::string_view::npos) {
      out.kind = chunk ? Key::Kind::Chunk : Key::Kind::Entry;
      out.generation = path.substr(0, slash);
      out.name = path.substr(slash + 1);
    }
  } else if (rest.substr(0, 6) == "hosts/" && rest.size() > 6) {
    out.kind = Key::Kind::Host;
    out.name = rest.substr(6);
  }
  return out;
}

std::string EtcdLayout::chunk(std::string_view generation,
                              std::size_t k) const {
  return chunks(generation) + padded(k, 6);
}

std::string EtcdLayout::audit_index(std::int64_t first) const {
  return audit() + padded(static_cast<std::uint64_t>(first), 20);
}

std::string EtcdLayout::audit_record(std::string_view token,
                                     std::size_t record) const {
  return audit_body(token) + padded(record, 6) + "/";
}

std::string EtcdLayout::audit_part(std::string_view token, std::size_t record,
                                   std::size_t part) const {
  return audit_record(token, record) + padded(part, 3);
}

std::string new_token() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 16; ++i)
    token += kHex[random() % 16];
  return token;
}

std::string head_value(const Head &head) {
  return json{{"format", kFormat},
              {"generation", head.generation},
              {"chunks", head.chunks}}
      .dump();
}

Result<Head> parse_head(std::string_view value) {
  return read_value<Head>(value, "the head", [](const json &o) -> Result<Head> {
    if (integer_field(o, "format") != kFormat)
      return invalid("the head is in format " + o.at("format").dump() +
                     ", which this xdpgated does not read: upgrade it");
    const std::int64_t chunks = integer_field(o, "chunks");
    if (chunks < 0)
      return invalid("the head names a negative count of chunks");
    Head head{o.at("generation").get<std::string>(),
              static_cast<std::size_t>(chunks)};
    if (head.generation.empty() ||
        head.generation.find('/') != std::string::npos)
      return invalid("the head names no valid generation");
    return head;
  });
}

std::string state_value(const RestrictionState &state) {
  return json{{"mode", to_string(state.mode)},
              {"confirm_deadline", or_null(state.confirm_deadline)},
              {"revert_mode", to_string(state.revert_mode)}}
      .dump();
}

Result<RestrictionState> parse_state(std::string_view value) {
  return read_value<RestrictionState>(
      value, "the state", [](const json &o) -> Result<RestrictionState> {
        const auto mode = parse_mode(o.at("mode").get<std::string>());
        const auto revert = parse_mode(o.at("revert_mode").get<std::string>());
        if (!mode || !revert)
          return invalid("the state names an unknown mode");
        return RestrictionState{*mode, optional_field(o, "confirm_deadline"),
                                *revert};
      });
}

std::string entry_value(const Entry &entry) {
  const json row = entry_row(entry);
  json object = json::object();
  for (std::size_t f = 0; f < FieldCount; ++f)
    object[kFields[f]] = row[f];
  return object.dump();
}

Result<Entry> parse_entry(std::string_view id, std::string_view value) {
  return read_value<Entry>(
      value, "an entry", [&](const json &o) -> Result<Entry> {
        json row = json::array();
        for (std::size_t f = 0; f < FieldCount; ++f) {
          auto it = o.find(kFields[f]);
          if (it != o.end())
            row.push_back(*it);
          else if (f == PastHits)
            row.push_back(0);
          else if (f == UpdatedAt || f == ExpiresAt || f == PastLastHitAt)
            row.push_back(nullptr);
          else
            return invalid(std::string("an entry has no ") + kFields[f]);
        }
        Result<Entry> entry = entry_of_row(row);
        if (entry && entry->id != id)
          return invalid("an entry under the key of " + std::string(id) +
                         " says it is " + entry->id);
        return entry;
      });
}

std::string tombstone_value(std::string_view id) {
  return json{{"id", id}, {"deleted", true}}.dump();
}

Result<std::optional<Entry>> parse_changed(std::string_view id,
                                           std::string_view value) {
  using Changed = std::optional<Entry>;
  Result<Changed> tombstone = read_value<Changed>(
      value, "an entry", [&](const json &o) -> Result<Changed> {
        auto deleted = o.find("deleted");
        if (deleted == o.end())
          return invalid("not a tombstone");
        if (o.size() != 2 || *deleted != true || o.at("id") != id)
          return invalid("a tombstone under the key of " + std::string(id) +
                         " is not one xdpgated writes");
        return Changed();
      });
  if (tombstone || tombstone.error().message != "not a tombstone")
    return tombstone;
  Result<Entry> entry = parse_entry(id, value);
  if (!entry)
    return entry.error();
  return Changed(std::move(*entry));
}

std::string chunk_value(std::span<const Entry> entries, std::size_t &taken) {
  std::string value =
      R"({"fields":)" + json(kFields).dump() + R"(,"entries":[)";
  taken = 0;
  for (const Entry &entry : entries) {
    if (value.size() >= kChunkBytes)
      break;
    if (taken++)
      value += ',';
    value += entry_row(entry).dump();
  }
  return value + "]}";
}

Result<Chunk> parse_chunk(std::string_view value) {
  return read_value<Chunk>(
      value, "a chunk", [](const json &o) -> Result<Chunk> {
        if (o.at("fields") != json(kFields))
          return invalid("a chunk's fields are not the ones xdpgated writes");
        Chunk chunk;
        const json &rows = o.at("entries");
        if (!rows.is_array())
          return invalid("a chunk's entries are not an array");
        for (const json &row : rows) {
          Result<Entry> entry = read_row(row);
          if (entry)
            chunk.entries.push_back(std::move(*entry));
          else
            chunk.refused.push_back(entry.error().message);
        }
        return chunk;
      });
}

std::size_t audit_changes_kept(std::span<const AuditIndex> newest_first) {
  std::size_t kept = 0;
  std::uint64_t bytes = 0;
  for (const AuditIndex &index : newest_first) {
    bytes += index.bytes;
    if (kept > 0 && (kept == kAuditChanges || bytes > kAuditBytes))
      break;
    ++kept;
  }
  return kept;
}

std::string audit_last_value(std::int64_t last) {
  return json{{"last", last}}.dump();
}

Result<std::int64_t> parse_audit_last(std::string_view value) {
  return read_value<std::int64_t>(
      value, "the audit's last sequence",
      [](const json &o) -> Result<std::int64_t> {
        const std::int64_t last = integer_field(o, "last");
        if (last < 0)
          return invalid("the audit's last sequence is negative");
        return last;
      });
}

std::string audit_index_value(const AuditIndex &index) {
  return json{{"first", index.first},
              {"records", index.records},
              {"host", index.host},
              {"body", index.body},
              {"bytes", index.bytes}}
      .dump();
}

Result<AuditIndex> parse_audit_index(std::string_view value) {
  return read_value<AuditIndex>(
      value, "an audit index", [](const json &o) -> Result<AuditIndex> {
        AuditIndex index{integer_field(o, "first"), integer_field(o, "records"),
                         o.at("host").get<std::string>(),
                         o.at("body").get<std::string>(),
                         o.at("bytes").get<std::uint64_t>()};
        if (index.first < 1 || index.records < 1 ||
            index.body.find('/') != std::string::npos || index.body.empty())
          return invalid("an audit index names no valid records");
        return index;
      });
}

std::string audit_record_value(const AuditRecord &record) {
  return json{{"at", record.at},         {"actor", record.actor},
              {"action", record.action}, {"entry_id", record.entry_id},
              {"before", record.before}, {"after", record.after}}
      .dump();
}

Result<AuditRecord> parse_audit_record(std::string_view value) {
  return read_value<AuditRecord>(
      value, "an audit record", [](const json &o) -> Result<AuditRecord> {
        AuditRecord record;
        record.at = integer_field(o, "at");
        record.actor = o.at("actor").get<std::string>();
        record.action = o.at("action").get<std::string>();
        record.entry_id = o.at("entry_id").get<std::string>();
        record.before = o.at("before").get<std::string>();
        record.after = o.at("after").get<std::string>();
        return record;
      });
}

ChunkedIds::ChunkedIds(std::vector<std::uint64_t> hashes)
    : hashes_(std::move(hashes)) {
  std::sort(hashes_.begin(), hashes_.end());
}

std::uint64_t ChunkedIds::hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

bool ChunkedIds::holds(std::string_view id) const {
  return std::binary_search(hashes_.begin(), hashes_.end(), hash(id));
}

std::string host_value(std::int64_t revision, std::optional<EpochMs> at) {
  return json{{"revision", revision}, {"applied_at", or_null(at)}}.dump();
}

Result<FleetHost> parse_host(std::string_view name, std::string_view value) {
  return read_value<FleetHost>(
      value, "a host", [&](const json &o) -> Result<FleetHost> {
        return FleetHost{std::string(name), integer_field(o, "revision"),
                         optional_field(o, "applied_at")};
      });
}

} // namespace xdpgate
