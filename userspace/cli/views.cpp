// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/views.hpp"

#include "cli/tables.hpp"

namespace xdpgate::cli {

namespace {

std::string yes_no(const json &value) {
  return value.is_boolean() ? (value.get<bool>() ? "yes" : "no") : text(value);
}

} // namespace

void print_entry_table(std::ostream &out, const json &entries) {
  if (!entries.is_array() || entries.empty()) {
    out << "no entries\n";
    return;
  }
  bool any_expiry = false;
  for (const json &entry : entries)
    any_expiry |= !member(entry, "expires_at").is_null();

  std::vector<Column> columns = {
      {"ID"},         {"RANGE"},      {"ENABLED"}, {"DESCRIPTION"},
      {"CREATED_BY"}, {"HITS", true}, {"LAST HIT"}};
  if (any_expiry)
    columns.push_back({"EXPIRES"});
  Table table(std::move(columns));
  for (const json &entry : entries)
    table.add_row(
        {cell(text(member(entry, "id"))), cell(text(member(entry, "ip_range"))),
         yes_no(member(entry, "enabled")),
         cell(text(member(entry, "description"))),
         cell(text(member(entry, "created_by"))), text(member(entry, "hits")),
         time_text(member(entry, "last_hit_at")),
         time_text(member(entry, "expires_at"))});
  table.print(out);
}

void print_entry(std::ostream &out, const json &entry) {
  print_fields(out,
               {
                   {"id", text(member(entry, "id"))},
                   {"ip_range", text(member(entry, "ip_range"))},
                   {"description", text(member(entry, "description"))},
                   {"enabled", yes_no(member(entry, "enabled"))},
                   {"created_by", text(member(entry, "created_by"))},
                   {"created_at", time_text(member(entry, "created_at"))},
                   {"updated_at", time_text(member(entry, "updated_at"))},
                   {"expires_at", time_text(member(entry, "expires_at"))},
                   {"hits", text(member(entry, "hits"))},
                   {"last_hit_at", time_text(member(entry, "last_hit_at"))},
               });
}

std::string restriction_text(const json &state) {
  bool active = member(state, "restriction_active") == true;
  return text(member(state, "mode")) + " (restriction " +
         (active ? "active" : "inactive") + ")";
}

void print_restriction(std::ostream &out, const json &state) {
  out << "mode " << restriction_text(state) << '\n';
  if (const json &deadline = member(state, "confirm_deadline");
      !deadline.is_null())
    out << "provisional: run `xdpgate confirm` before " << time_text(deadline)
        << ", or the previous mode returns\n";
}

std::string entry_name(const json &entry) {
  if (!entry.is_object())
    return text(entry);
  return text(member(entry, "id")) + " (" + text(member(entry, "ip_range")) +
         ")";
}

} // namespace xdpgate::cli
