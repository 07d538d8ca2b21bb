// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/bulk_audit.hpp"

#include <utility>

namespace xdpgate {

namespace {

void append_json_string(std::string &out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

// Written by hand rather than through nlohmann::json: at a million entries
// building a DOM per item costs seconds.
void append_item(std::string &array, const Entry &e) {
  array += array.empty() ? "{\"id\":" : ",{\"id\":";
  append_json_string(array, e.id);
  array += ",\"ip_range\":";
  append_json_string(array, e.range.to_string());
  array += ",\"description\":";
  if (e.description)
    append_json_string(array, *e.description);
  else
    array += "null";
  array += e.enabled ? ",\"enabled\":true" : ",\"enabled\":false";
  array += ",\"expires_at\":";
  array += e.expires_at ? std::to_string(*e.expires_at) : "null";
  array += '}';
}

// {"a":[…],"b":[…],<members of extra>}, leaving out empty arrays; empty
// text when there is nothing at all.
std::string object_of(const char *first_name, const std::string &first,
                      const char *second_name, const std::string &second,
                      const nlohmann::json &extra) {
  std::string out;
  for (auto [name, items] :
       {std::pair{first_name, &first}, std::pair{second_name, &second}}) {
    if (items->empty())
      continue;
    out += out.empty() ? "{\"" : ",\"";
    out += name;
    out += "\":[";
    out += *items;
    out += ']';
  }
  std::string rest = extra.empty() ? std::string() : extra.dump();
  if (!rest.empty()) // "{…}": its members join ours
    out += out.empty() ? rest.substr(0, rest.size() - 1)
                       : "," + rest.substr(1, rest.size() - 2);
  if (!out.empty())
    out += '}';
  return out;
}

} // namespace

BulkAudit::BulkAudit(std::string action, std::string actor, EpochMs at,
                     nlohmann::json extra_before, nlohmann::json extra_after)
    : action_(std::move(action)), actor_(std::move(actor)), at_(at),
      extra_before_(std::move(extra_before)),
      extra_after_(std::move(extra_after)) {}

void BulkAudit::removed(const Entry &before) {
  append_item(current_.removed, before);
  count_one();
}

void BulkAudit::updated(const Entry &before, const Entry &after) {
  append_item(current_.updated_before, before);
  append_item(current_.updated_after, after);
  count_one();
}

void BulkAudit::added(const Entry &after) {
  append_item(current_.added, after);
  count_one();
}

void BulkAudit::count_one() {
  if (++current_.entries == kEntriesPerRecord)
    flush();
}

void BulkAudit::flush() {
  bool first = records_.empty();
  const nlohmann::json none = nlohmann::json::object();
  records_.push_back(AuditRecord{
      0, at_, actor_, action_, "",
      object_of("removed", current_.removed, "updated", current_.updated_before,
                first ? extra_before_ : none),
      object_of("added", current_.added, "updated", current_.updated_after,
                first ? extra_after_ : none)});
  current_ = Arrays{};
}

void BulkAudit::write_to(std::vector<AuditRecord> &out) && {
  bool has_extra = !extra_before_.empty() || !extra_after_.empty();
  if (current_.entries > 0 || (records_.empty() && has_extra))
    flush();
  for (AuditRecord &r : records_)
    out.push_back(std::move(r));
}

} // namespace xdpgate
