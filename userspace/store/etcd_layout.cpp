// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/etcd_layout.hpp"

#include <nlohmann/json.hpp>

namespace xdpgate {
namespace {

using nlohmann::json;

constexpr int kFormat = 1;
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

// An integer field; anything else throws. Never a float: converting one
// out of range is undefined.
std::int64_t integer(const json &object, const char *name) {
  const json &value = object.at(name);
  if (!value.is_number_integer())
    throw std::invalid_argument(std::string(name) + " is not an integer");
  return value.get<std::int64_t>();
}

// An optional integer field: absent or null is none; any other type throws.
std::optional<std::int64_t> optional_number(const json &object,
                                            const char *name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return std::nullopt;
  return integer(object, name);
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

} // namespace

EtcdLayout::Key EtcdLayout::classify(std::string_view key) const {
  Key out;
  if (key.substr(0, prefix_.size()) != prefix_)
    return out;
  const std::string_view rest = key.substr(prefix_.size());
  if (rest == "head") {
    out.kind = Key::Kind::Head;
  } else if (rest == "state") {
    out.kind = Key::Kind::State;
  } else if (rest.substr(0, 4) == "gen/") {
    const std::string_view path = rest.substr(4);
    const std::size_t slash = path.find('/');
    if (slash != std::string_view::npos && slash > 0 &&
        slash + 1 < path.size()) {
      out.kind = Key::Kind::Entry;
      out.generation = path.substr(0, slash);
      out.name = path.substr(slash + 1);
    }
  } else if (rest.substr(0, 6) == "hosts/" && rest.size() > 6) {
    out.kind = Key::Kind::Host;
    out.name = rest.substr(6);
  }
  return out;
}

std::string head_value(const Head &head) {
  return json{{"format", kFormat}, {"generation", head.generation}}.dump();
}

Result<Head> parse_head(std::string_view value) {
  return read_value<Head>(value, "the head", [](const json &o) -> Result<Head> {
    if (integer(o, "format") != kFormat)
      return invalid("the head is in format " + o.at("format").dump() +
                     ", which this xdpgated does not read: upgrade it");
    Head head{o.at("generation").get<std::string>()};
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
        return RestrictionState{*mode, optional_number(o, "confirm_deadline"),
                                *revert};
      });
}

std::string entry_value(const Entry &entry) {
  return json{{"id", entry.id},
              {"ip_range", entry.range.to_string()},
              {"description",
               entry.description ? json(*entry.description) : json(nullptr)},
              {"enabled", entry.enabled},
              {"created_by", entry.created_by},
              {"created_at", entry.created_at},
              {"updated_at", or_null(entry.updated_at)},
              {"expires_at", or_null(entry.expires_at)},
              {"past_hits", entry.past_hits},
              {"past_last_hit_at", or_null(entry.past_last_hit_at)}}
      .dump();
}

Result<Entry> parse_entry(std::string_view id, std::string_view value) {
  return read_value<Entry>(
      value, "an entry", [&](const json &o) -> Result<Entry> {
        if (!is_entry_id(id))
          return invalid("\"" + std::string(id) +
                         "\" is not an entry id xdpgated makes");
        Entry entry;
        entry.id = o.at("id").get<std::string>();
        if (entry.id != id)
          return invalid("an entry under the key of " + std::string(id) +
                         " says it is " + entry.id);
        Result<IpPrefix> range =
            IpPrefix::parse(o.at("ip_range").get<std::string>());
        if (!range || range->to_string() != o.at("ip_range"))
          return invalid("entry " + entry.id + " has no canonical ip_range: " +
                         o.at("ip_range").dump());
        entry.range = *range;
        if (const json &d = o.at("description"); !d.is_null()) {
          entry.description = d.get<std::string>();
          if (entry.description->size() > kDescriptionBytes)
            return invalid("entry " + entry.id + " has a description over " +
                           std::to_string(kDescriptionBytes) + " bytes");
        }
        entry.enabled = o.at("enabled").get<bool>();
        entry.created_by = o.at("created_by").get<std::string>();
        entry.created_at = integer(o, "created_at");
        entry.updated_at = optional_number(o, "updated_at");
        entry.expires_at = optional_number(o, "expires_at");
        if (o.contains("past_hits")) {
          if (!o["past_hits"].is_number_unsigned())
            return invalid("entry " + entry.id +
                           " has past_hits that are not a count");
          entry.past_hits = o["past_hits"].get<std::uint64_t>();
        }
        entry.past_last_hit_at = optional_number(o, "past_last_hit_at");
        return entry;
      });
}

std::string host_value(std::int64_t revision, std::optional<EpochMs> at) {
  return json{{"revision", revision}, {"applied_at", or_null(at)}}.dump();
}

Result<FleetHost> parse_host(std::string_view name, std::string_view value) {
  return read_value<FleetHost>(
      value, "a host", [&](const json &o) -> Result<FleetHost> {
        return FleetHost{std::string(name), integer(o, "revision"),
                         optional_number(o, "applied_at")};
      });
}

} // namespace xdpgate
