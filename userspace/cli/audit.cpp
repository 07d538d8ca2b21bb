// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Handlers that show who changed the list (audit) and who was turned away
// (denied).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/tables.hpp"

namespace xdpgate::cli {

namespace {

// A field's value in a change: times (…_at, …_deadline) as ISO 8601.
std::string shown(const std::string &key, const json &value) {
  if (value.is_number_integer() &&
      (key.ends_with("_at") || key.ends_with("_deadline")))
    return time_text(value);
  return value.dump();
}

// A record of a change to many entries (an import, a replace, delete_all)
// lists them in arrays: the table shows how many, `--json` shows them.
std::string bulk_summary(const json &before, const json &after) {
  auto count = [](const json &state, const char *key) {
    const json &items = member(state, key);
    return items.is_array() ? items.size() : 0;
  };
  std::string out;
  for (auto [n, what] : {std::pair{count(after, "added"), "added"},
                         std::pair{count(before, "removed"), "removed"},
                         std::pair{count(after, "updated"), "updated"}})
    if (n > 0)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  const json &from = member(before, "entries"), &to = member(after, "entries");
  if (!from.is_null() && !to.is_null())
    out += (out.empty() ? "" : "; ") + std::string("entries: ") + from.dump() +
           " → " + to.dump();
  return out.empty() ? "no change" : out;
}

bool is_bulk(const json &state) {
  return state.is_object() &&
         (state.contains("added") || state.contains("removed") ||
          state.contains("updated") || state.contains("entries"));
}

// One audit record's change in a few words: what was added or removed, or
// which fields changed.
std::string change_summary(const json &before, const json &after) {
  if (is_bulk(before) || is_bulk(after))
    return bulk_summary(before, after);
  auto describe = [](const json &state) {
    const json &range = member(state, "ip_range");
    return range.is_null() ? state.dump() : text(range);
  };
  if (before.is_null() && after.is_null())
    return "-";
  if (before.is_null())
    return "+ " + describe(after);
  if (after.is_null())
    return "- " + describe(before);
  if (!before.is_object() || !after.is_object())
    return before.dump() + " → " + after.dump();
  std::string out;
  for (const auto &[key, value] : after.items()) {
    const json &old = member(before, key);
    if (key == "updated_at" || old == value)
      continue;
    out += (out.empty() ? "" : "; ") + key + ": " + shown(key, old) + " → " +
           shown(key, value);
  }
  return out.empty() ? "no change" : out;
}

void print_audit(const json &answer, unsigned offset) {
  const json &items = member(answer, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << "no audit records\n";
    return;
  }
  // A fleet's records name the host each change was made through.
  const bool fleet = std::any_of(items.begin(), items.end(), [](auto &r) {
    return member(r, "host").is_string();
  });
  std::vector<Column> columns = {{"SEQ", true}, {"AT"}, {"ACTOR"}};
  if (fleet)
    columns.push_back({"HOST"});
  columns.insert(columns.end(), {{"ACTION"}, {"ENTRY"}, {"CHANGE"}});
  Table table(columns);
  for (const json &record : items) {
    std::vector<std::string> row = {text(member(record, "sequence")),
                                    time_text(member(record, "at")),
                                    cell(text(member(record, "actor")))};
    if (fleet)
      row.push_back(cell(text(member(record, "host"))));
    row.insert(row.end(), {cell(text(member(record, "action"))),
                           cell(text(member(record, "entry_id"))),
                           cell(change_summary(member(record, "before"),
                                               member(record, "after")),
                                100)});
    table.add_row(row);
  }
  table.print(std::cout);
  std::cout << "\nrecords " << offset + 1 << "–" << offset + items.size()
            << " of " << text(member(answer, "total")) << ", newest first\n";
}

// "12,800", and "~12,800" where sampling made the count an estimate.
std::string packets_text(const json &source) {
  const json &packets = member(source, "packets");
  if (!packets.is_number_unsigned())
    return text(packets);
  std::string digits = std::to_string(packets.get<std::uint64_t>());
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3)
    digits.insert(static_cast<std::size_t>(at), ",");
  return (member(source, "estimated") == true ? "~" : "") + digits;
}

void print_denied(const json &answer) {
  Table table({{"INTERFACE"}, {"ADDRESS"}, {"PACKETS", true}, {"LAST SEEN"}});
  std::string estimate_rate; // the sample rate, once an estimate is shown
  const json &interfaces = member(answer, "interfaces");
  if (interfaces.is_array())
    for (const json &interface : interfaces) {
      const json &sources = member(interface, "sources");
      if (!sources.is_array())
        continue;
      for (const json &source : sources) {
        table.add_row({cell(text(member(interface, "name"))),
                       text(member(source, "address")), packets_text(source),
                       time_text(member(source, "last_seen_at"))});
        if (member(source, "estimated") == true)
          estimate_rate = text(member(source, "sample_rate"));
      }
    }
  if (table.empty()) {
    std::cout << "no denied sources sampled\n";
    return;
  }
  table.print(std::cout);
  if (!estimate_rate.empty())
    std::cout << "\n~: an estimate: past its first packets, 1 packet in "
              << estimate_rate << " of a source is counted\n";
}

std::string number(const std::optional<unsigned> &value) {
  return value ? std::to_string(*value) : "";
}

} // namespace

int run_audit(const Session &session, const Args &args) {
  auto reply = session.api.call(
      "GET", "/audit" + query({{"offset", number(args.offset)},
                               {"limit", number(args.limit)}}));
  unsigned offset = args.offset.value_or(0);
  return show(session, reply,
              [offset](const json &answer) { print_audit(answer, offset); });
}

// One event of the live view as a line: address, verdict, interface, time,
// and what it was sent to.
void print_event(const json &event) {
  const json &port = member(event, "dest_port");
  const json &protocol = member(event, "protocol");
  std::string to = protocol.is_null() ? "" : text(protocol);
  if (!port.is_null())
    to += "/" + text(port);
  std::cout << std::left << std::setw(39)
            << cell(text(member(event, "address"))) << ' ' << std::setw(10)
            << cell(text(member(event, "verdict"))) << ' ' << std::setw(15)
            << cell(text(member(event, "interface"))) << ' '
            << time_text(member(event, "at")) << ' ' << cell(to) << std::endl;
}

// `denied --follow`: every denied packet the kernel reports, as it comes,
// until Ctrl-C, --count events or --for seconds.
int follow_denied(const Session &session, const Args &args) {
  unsigned seen = 0;
  std::optional<std::chrono::milliseconds> within;
  if (args.for_s)
    within = std::chrono::milliseconds(std::llround(*args.for_s * 1000));
  auto on_open = [&] {
    if (!session.json)
      std::cerr << "following denied packets (Ctrl-C to stop)" << std::endl;
  };
  auto on_line = [&](const std::string &line) {
    json event = json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object())
      return true; // a line from a newer daemon this CLI cannot read
    if (event.contains("lost")) {
      if (session.json)
        std::cout << line << std::endl;
      else
        std::cerr << "xdpgate: " << text(member(event, "lost"))
                  << " events lost (this reader was too slow)" << std::endl;
      return true;
    }
    if (session.json)
      std::cout << line << std::endl;
    else
      print_event(event);
    return !(args.count && ++seen >= *args.count);
  };
  auto followed =
      session.api.follow_lines("/denied?follow=true", on_open, on_line, within);
  if (!followed)
    return report(session, followed.error());
  if (!*followed) {
    std::cerr << "xdpgate: xdpgated ended the stream (stopping?)" << std::endl;
    return kExitApiError;
  }
  return kExitOk;
}

int run_denied(const Session &session, const Args &args) {
  if (args.follow)
    return follow_denied(session, args);
  auto reply =
      session.api.call("GET", "/denied" + query({{"top", number(args.top)}}));
  return show(session, reply, print_denied);
}

} // namespace xdpgate::cli
