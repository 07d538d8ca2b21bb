// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Handlers for the entries: list, get, add, update, delete, enable, disable,
// check.
#include <iostream>

#include "cli/change.hpp"
#include "cli/commands.hpp"
#include "cli/tables.hpp"
#include "cli/timestamps.hpp"
#include "cli/views.hpp"

namespace xdpgate::cli {

namespace {

std::string entry_path(const Args &args) { return "/" + path_segment(args.id); }

std::string force_query(const Args &args) {
  return query({{"force", args.force ? "true" : ""}});
}

// Adds expires_at to a request body from --expires-at / --no-expiry.
Status put_expiry(json &body, const Args &args) {
  if (args.no_expiry)
    body["expires_at"] = nullptr;
  if (!args.expires_at)
    return {};
  auto at = parse_timestamp(*args.expires_at, "--expires-at");
  if (!at)
    return at.error();
  body["expires_at"] = *at;
  return {};
}

} // namespace

// The list comes in pages, so that a million entries never make one
// answer; each page is printed as it arrives (with --json, one object is
// printed once all have come). A change made meanwhile may shift an entry
// between pages.
int run_list(const Session &session, const Args &args) {
  constexpr std::size_t kPage = 10000;
  json merged;
  std::size_t offset = 0;
  for (;;) {
    auto reply = session.api.call(
        "GET", query({{"include_disabled", args.all ? "true" : ""},
                      {"offset", std::to_string(offset)},
                      {"limit", std::to_string(kPage)}}));
    if (!reply)
      return report(session, reply.error());
    json &answer = reply->body;
    const json &items = member(answer, "items");
    const std::size_t got = items.is_array() ? items.size() : 0;
    if (!session.json && (got > 0 || offset == 0))
      print_entry_table(std::cout, items);
    if (offset == 0)
      merged = answer;
    else if (session.json)
      for (const json &item : items)
        merged["items"].push_back(item);
    offset += got;
    const json &total = member(answer, "total");
    if (got == 0 || !total.is_number_unsigned() ||
        offset >= total.get<std::size_t>())
      break;
  }
  if (session.json) {
    merged.erase("offset");
    return show(session, Reply{200, std::move(merged)}, nullptr);
  }
  std::cout << '\n'
            << text(member(merged, "total"))
            << (args.all ? " entries"
                         : " enabled entries (--all adds disabled)")
            << "; ";
  print_restriction(std::cout, merged);
  return kExitOk;
}

int run_get(const Session &session, const Args &args) {
  auto reply = session.api.call("GET", entry_path(args));
  return show(session, reply,
              [](const json &entry) { print_entry(std::cout, entry); });
}

int run_add(const Session &session, const Args &args) {
  json body = {{"ip_range", args.range}};
  if (args.description)
    body["description"] = *args.description;
  if (args.disabled)
    body["enabled"] = false;
  if (auto expiry = put_expiry(body, args); !expiry)
    return usage_error(session, expiry.error().message);
  return make_change(
      session, args, {"POST", force_query(args), body}, [](const Reply &reply) {
        std::cout << (reply.status == 201 ? "added "
                                          : "already listed, updated: ")
                  << entry_name(reply.body) << "\n\n";
        print_entry(std::cout, reply.body);
      });
}

int run_update(const Session &session, const Args &args) {
  json body = json::object();
  if (args.new_range)
    body["ip_range"] = *args.new_range;
  if (args.description)
    body["description"] = *args.description;
  if (args.no_description)
    body["description"] = nullptr;
  if (args.enable || args.disable)
    body["enabled"] = args.enable;
  if (auto expiry = put_expiry(body, args); !expiry)
    return usage_error(session, expiry.error().message);
  if (body.empty())
    return usage_error(session,
                       "update needs at least one of --range, --description, "
                       "--no-description, --enable, --disable, --expires-at, "
                       "--no-expiry");
  return make_change(
      session, args, {"PATCH", entry_path(args) + force_query(args), body},
      [](const Reply &reply) {
        std::cout << "updated " << entry_name(reply.body) << "\n\n";
        print_entry(std::cout, reply.body);
      });
}

int run_delete(const Session &session, const Args &args) {
  if (args.all)
    return make_change(session, args, {"DELETE", ""}, [](const Reply &reply) {
      std::cout << "deleted " << text(member(reply.body, "deleted"))
                << " entries; restriction inactive\n";
    });
  if (args.id.empty())
    return usage_error(session,
                       "delete needs an entry ID, or --all to delete every "
                       "entry");
  return make_change(
      session, args, {"DELETE", entry_path(args) + force_query(args)},
      [](const Reply &reply) {
        std::cout << "deleted " << text(member(reply.body, "id")) << '\n';
      });
}

int run_enable(const Session &session, const Args &args) {
  return make_change(
      session, args, {"POST", entry_path(args) + "/enable", json::object()},
      [](const Reply &reply) {
        std::cout << "enabled " << text(member(reply.body, "id")) << " at "
                  << time_text(member(reply.body, "enabled_at")) << '\n';
      });
}

int run_disable(const Session &session, const Args &args) {
  return make_change(session, args,
                     {"POST", entry_path(args) + "/disable" + force_query(args),
                      json::object()},
                     [](const Reply &reply) {
                       std::cout << "disabled "
                                 << text(member(reply.body, "id")) << " at "
                                 << time_text(member(reply.body, "disabled_at"))
                                 << '\n';
                     });
}

int run_check(const Session &session, const Args &args) {
  auto reply =
      session.api.call("POST", "/check", json{{"ip_address", args.ip}});
  return show(session, reply, [](const json &answer) {
    // The data path's verdict for a TCP packet to a protected port.
    const std::string verdict = text(member(answer, "verdict"));
    const std::string mode = text(member(answer, "mode"));
    std::cout << text(member(answer, "ip_address")) << ": " << verdict;
    if (verdict == "exempt_source")
      std::cout << " (an exempt source in xdpgate.toml: always passes)\n";
    else if (verdict == "allowed" &&
             member(answer, "matched_entry").is_object())
      std::cout << " by " << entry_name(member(answer, "matched_entry"))
                << '\n';
    else if (verdict == "allowed")
      std::cout << " (listed; mode " << mode << ")\n";
    else if (verdict == "would_drop")
      std::cout << " (no enabled entry matches, but mode " << mode
                << " lets it pass)\n";
    else
      std::cout << " (no enabled entry matches, "
                << text(member(answer, "total_entries")) << " entries)\n";
  });
}

} // namespace xdpgate::cli
