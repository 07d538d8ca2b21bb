// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Handlers that show what the data path is doing: status, stats (one shot,
// or packets per second with --watch).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <time.h>

#include "cli/commands.hpp"
#include "cli/tables.hpp"
#include "cli/timestamps.hpp"
#include "cli/views.hpp"
#include "model/verdicts.hpp"

namespace xdpgate::cli {

namespace {

const json &interfaces_of(const json &status) {
  static const json none = json::array();
  const json &interfaces = member(status, "interfaces");
  return interfaces.is_array() ? interfaces : none;
}

// The verdicts the daemon reports, in the data path's decision order; names
// this CLI does not know (a newer daemon) follow at the end.
std::vector<std::string> verdicts_of(const json &interfaces) {
  std::vector<std::string> verdicts(kVerdictNames.begin(), kVerdictNames.end());
  for (const json &interface : interfaces) {
    const json &counters = member(interface, "counters");
    if (counters.is_object())
      for (const auto &[verdict, counter] : counters.items())
        if (std::find(verdicts.begin(), verdicts.end(), verdict) ==
            verdicts.end())
          verdicts.push_back(verdict);
  }
  return verdicts;
}

std::uint64_t packets(const json &interface, const std::string &verdict) {
  const json &n =
      member(member(member(interface, "counters"), verdict), "packets");
  return n.is_number_unsigned() ? n.get<std::uint64_t>() : 0;
}

std::string upper(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// One row per interface, one column per verdict.
Table verdict_table(const std::vector<std::string> &verdicts) {
  std::vector<Column> columns = {{"INTERFACE"}};
  for (const std::string &verdict : verdicts)
    columns.push_back({upper(verdict), true});
  return Table(std::move(columns));
}

std::string joined(const json &values, const char *when_empty) {
  if (!values.is_array())
    return text(values);
  if (values.empty())
    return when_empty;
  std::string out;
  for (const json &value : values)
    out += (out.empty() ? "" : ", ") + text(value);
  return out;
}

std::string count_of(const json &values) {
  return values.is_array() ? std::to_string(values.size()) : text(values);
}

// The daemon words each warning ("10.1.2.0/24 lies inside 10.0.0.0/8 …").
void print_warnings(const char *title, const json &warnings) {
  constexpr std::size_t kShown = 20;
  if (!warnings.is_array() || warnings.empty())
    return;
  std::cout << '\n' << title << ":\n";
  for (std::size_t i = 0; i < warnings.size() && i < kShown; ++i)
    std::cout << "  " << cell(text(warnings[i]), 200) << '\n';
  if (warnings.size() > kShown)
    std::cout << "  … and " << warnings.size() - kShown
              << " more (status --json lists all)\n";
}

void print_status(const json &status) {
  const json &entries = member(status, "entries");
  const json &exempt = member(status, "exemptions");
  const json &scope = member(status, "scope");
  const json &warnings = member(status, "warnings");
  std::vector<std::pair<std::string, std::string>> fields = {
      {"mode", restriction_text(status)}};
  if (const json &deadline = member(status, "confirm_deadline");
      !deadline.is_null())
    fields.push_back(
        {"confirm before", time_text(deadline) + " (else back to " +
                               text(member(status, "revert_mode")) + ")"});
  if (const json &synced = member(status, "last_sync_at"); !synced.is_null())
    fields.push_back({"maps synced", time_text(synced)});
  if (const json &store = member(status, "store");
      text(member(store, "kind")) == "etcd") {
    const json &applied = member(store, "last_applied_at");
    fields.push_back(
        {"store",
         "etcd " + joined(member(store, "endpoints"), "") + ", revision " +
             text(member(store, "revision")) +
             (applied.is_null() ? "" : " applied " + time_text(applied)) +
             (member(store, "stale") == true
                  ? " (STALE: etcd unreachable, enforcing the last "
                    "list applied)"
                  : "")});
  }
  fields.insert(
      fields.end(),
      {{"entries", text(member(entries, "total")) + " (" +
                       text(member(entries, "enabled")) + " enabled)"},
       {"exempt tcp ports", joined(member(exempt, "tcp_ports"), "none")},
       {"exempt udp ports", joined(member(exempt, "udp_ports"), "none")},
       {"exempt sources", joined(member(exempt, "sources"), "none")},
       {"protected tcp ports",
        joined(member(scope, "protected_tcp_ports"), "all")},
       {"protected udp ports",
        joined(member(scope, "protected_udp_ports"), "all")},
       {"overlapping entries", count_of(member(warnings, "overlaps"))},
       {"stale entries", count_of(member(warnings, "stale"))}});
  print_fields(std::cout, fields);
  print_warnings("overlapping entries", member(warnings, "overlaps"));
  print_warnings("stale entries (no recent hit)", member(warnings, "stale"));

  const json &interfaces = interfaces_of(status);
  if (interfaces.empty()) {
    std::cout << "\nno interfaces configured\n";
    return;
  }
  auto verdicts = verdicts_of(interfaces);
  Table attachments({{"INTERFACE"}, {"STATE"}, {"ATTACH MODE"}, {"PROGRAM"}});
  Table counters = verdict_table(verdicts);
  for (const json &interface : interfaces) {
    std::string name = cell(text(member(interface, "name")));
    attachments.add_row({name, text(member(interface, "state")),
                         text(member(interface, "attach_mode")),
                         text(member(interface, "program_id"))});
    std::vector<std::string> row = {name};
    for (const std::string &verdict : verdicts)
      row.push_back(std::to_string(packets(interface, verdict)));
    counters.add_row(std::move(row));
  }
  std::cout << '\n';
  attachments.print(std::cout);
  std::cout << "\npackets per verdict:\n";
  counters.print(std::cout);
}

void print_counters(const json &status) {
  const json &interfaces = interfaces_of(status);
  auto verdicts = verdicts_of(interfaces);
  Table table({{"INTERFACE"}, {"VERDICT"}, {"PACKETS", true}, {"BYTES", true}});
  for (const json &interface : interfaces)
    for (const std::string &verdict : verdicts) {
      const json &counter = member(member(interface, "counters"), verdict);
      table.add_row({cell(text(member(interface, "name"))), verdict,
                     text(member(counter, "packets")),
                     text(member(counter, "bytes"))});
    }
  if (table.empty())
    std::cout << "no interface counters\n";
  else
    table.print(std::cout);
}

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) { interrupted = 1; }

// Sleeps unless Ctrl-C arrives; returns false when it did.
bool sleep_for(std::chrono::duration<double> interval) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval);
  timespec left{static_cast<time_t>(ns.count() / 1'000'000'000),
                static_cast<long>(ns.count() % 1'000'000'000)};
  while (!interrupted && ::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
  return !interrupted;
}

const json *find_interface(const json &interfaces, const json &name) {
  for (const json &interface : interfaces)
    if (member(interface, "name") == name)
      return &interface;
  return nullptr;
}

double rate(std::uint64_t before, std::uint64_t now, double seconds) {
  // A counter that went backwards restarted (interface re-attached).
  std::uint64_t delta = now >= before ? now - before : now;
  return seconds > 0 ? double(delta) / seconds : 0;
}

// Packets per second per verdict between two /status answers: a table, or
// with --json one JSON object per line. An interface that appeared in
// between has no rate yet.
void print_rates(const Session &session, const json &before, const json &now,
                 double seconds) {
  auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  const json &interfaces = interfaces_of(now);
  auto verdicts = verdicts_of(interfaces);
  json sample = {
      {"at", wall_ms}, {"interval_s", seconds}, {"interfaces", json::array()}};
  Table table = verdict_table(verdicts);
  for (const json &interface : interfaces) {
    const json &name = member(interface, "name");
    const json *prev = find_interface(interfaces_of(before), name);
    json rates = json::object();
    std::vector<std::string> row = {cell(text(name))};
    for (const std::string &verdict : verdicts) {
      std::ostringstream value;
      if (prev) {
        rates[verdict] =
            rate(packets(*prev, verdict), packets(interface, verdict), seconds);
        value << std::fixed << std::setprecision(1)
              << rates[verdict].get<double>();
      }
      row.push_back(prev ? value.str() : "-");
    }
    if (prev)
      sample["interfaces"].push_back(
          {{"name", name}, {"packets_per_s", std::move(rates)}});
    table.add_row(std::move(row));
  }
  if (session.json) {
    std::cout << sample.dump() << std::endl;
    return;
  }
  std::cout << format_utc(wall_ms) << "  packets/s over " << std::fixed
            << std::setprecision(1) << seconds << " s\n";
  table.print(std::cout);
  std::cout << std::endl;
}

int watch_stats(const Session &session, const Args &args) {
  struct sigaction action {};
  action.sa_handler = on_interrupt; // no SA_RESTART: wake the sleep
  ::sigaction(SIGINT, &action, nullptr);

  using Clock = std::chrono::steady_clock;
  auto before = session.api.call("GET", "/status");
  if (!before)
    return report(session, before.error());
  auto taken = Clock::now();
  for (unsigned shown = 0; !args.count || shown < *args.count; ++shown) {
    if (!sleep_for(std::chrono::duration<double>(args.interval_s)))
      return kExitOk;
    auto now = session.api.call("GET", "/status");
    if (interrupted)
      return kExitOk;
    if (!now)
      return report(session, now.error());
    auto now_taken = Clock::now();
    print_rates(session, before->body, now->body,
                std::chrono::duration<double>(now_taken - taken).count());
    before = std::move(now);
    taken = now_taken;
  }
  return kExitOk;
}

} // namespace

int run_status(const Session &session, const Args &) {
  return show(session, session.api.call("GET", "/status"), print_status);
}

int run_stats(const Session &session, const Args &args) {
  if (args.watch)
    return watch_stats(session, args);
  return show(session, session.api.call("GET", "/status"), print_counters);
}

} // namespace xdpgate::cli
