// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpgate: the operator's command line for the xdpgated control API. The
// subcommands are one table, each row a name, what it does, an example, its
// handler and its options.
#include <cstdlib>
#include <iostream>
#include <limits>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace xdpgate::cli {

namespace {

struct Command {
  const char *name;
  const char *summary;
  const char *example;
  Handler run;
  void (*declare)(CLI::App &, Args &);
};

void no_options(CLI::App &, Args &) {}

void entry_id(CLI::App &c, Args &a) {
  c.add_option("ID", a.id, "Entry id (see `xdpgate list`)")->required();
}

// Every command that changes the list or the restriction (cli/change.hpp).
void change_options(CLI::App &c, Args &a) {
  c.add_flag("--dry-run", a.dry_run,
             "Show what the change would do (its answer, the sources seen "
             "lately it would start or stop dropping, this SSH session); "
             "change nothing");
  c.add_flag("-y,--yes", a.yes,
             "Make the change even if it would drop this SSH session");
}

void force_last_entry(CLI::App &c, Args &a) {
  c.add_flag("--force", a.force,
             "Allow leaving no enabled entry while the restriction is active");
}

// An existing file, or "-" for standard input.
const CLI::Validator kFileOrStdin(
    [](std::string &file) {
      return file == "-" ? std::string() : CLI::ExistingFile(file);
    },
    "FILE|-");

const Command kCommands[] = {
    {"list", "List the entries (enabled ones unless --all)",
     "xdpgate list --all", run_list,
     [](CLI::App &c, Args &a) {
       c.add_flag("-a,--all", a.all, "Include disabled entries");
     }},
    {"get", "Show one entry with its statistics", "xdpgate get ip_3kq9x2m7ab",
     run_get, entry_id},
    {"add",
     "Add a range (an already listed one gets the new description, and "
     "--disabled or --expires-at if given)",
     "xdpgate add 203.0.113.0/24 -d office --expires-at 2025-12-31T18:00Z",
     run_add,
     [](CLI::App &c, Args &a) {
       c.add_option("RANGE", a.range, "IPv4/IPv6 address or CIDR")->required();
       c.add_option("-d,--description", a.description,
                    "Why it is allowed (at most 256 bytes)");
       c.add_flag("--disabled", a.disabled, "Add it disabled");
       c.add_option("--expires-at", a.expires_at,
                    "Disable it automatically then: ISO 8601 (UTC unless an "
                    "offset is given) or epoch milliseconds");
       force_last_entry(c, a);
       change_options(c, a);
     }},
    {"update", "Change an entry's range, description, state or expiry",
     "xdpgate update ip_3kq9x2m7ab --range 203.0.113.0/25 --disable",
     run_update,
     [](CLI::App &c, Args &a) {
       entry_id(c, a);
       c.add_option("--range", a.new_range, "New IPv4/IPv6 address or CIDR");
       auto *d =
           c.add_option("-d,--description", a.description, "New description");
       c.add_flag("--no-description", a.no_description,
                  "Remove the description")
           ->excludes(d);
       auto *on = c.add_flag("--enable", a.enable, "Enable the entry");
       c.add_flag("--disable", a.disable, "Disable the entry")->excludes(on);
       auto *at = c.add_option("--expires-at", a.expires_at,
                               "Disable it automatically then (ISO 8601 or "
                               "epoch milliseconds)");
       c.add_flag("--no-expiry", a.no_expiry, "Remove the expiry")
           ->excludes(at);
       force_last_entry(c, a);
       change_options(c, a);
     }},
    {"delete", "Delete an entry, or every entry with --all (deactivates)",
     "xdpgate delete ip_3kq9x2m7ab", run_delete,
     [](CLI::App &c, Args &a) {
       auto *id = c.add_option("ID", a.id, "Entry id");
       auto *all = c.add_flag("--all", a.all,
                              "Delete every entry and deactivate the "
                              "restriction")
                       ->excludes(id);
       c.add_flag("--force", a.force,
                  "Allow deleting the last enabled entry while active")
           ->excludes(all);
       change_options(c, a);
     }},
    {"enable", "Enable an entry", "xdpgate enable ip_3kq9x2m7ab", run_enable,
     [](CLI::App &c, Args &a) {
       entry_id(c, a);
       change_options(c, a);
     }},
    {"disable", "Disable an entry (it stays listed)",
     "xdpgate disable ip_3kq9x2m7ab --dry-run", run_disable,
     [](CLI::App &c, Args &a) {
       entry_id(c, a);
       force_last_entry(c, a);
       change_options(c, a);
     }},
    {"check", "Tell whether the data path lets an address through",
     "xdpgate check 203.0.113.9", run_check,
     [](CLI::App &c, Args &a) {
       c.add_option("IP", a.ip, "IPv4 or IPv6 address")->required();
     }},
    {"import",
     "Add the entries of a CSV file (header ip_address,description, or "
     "ip_address,description,enabled,expires_at as export writes)",
     "xdpgate import allowlist.csv --dry-run", run_import,
     [](CLI::App &c, Args &a) {
       c.add_option("FILE", a.file, "CSV file, or - for standard input")
           ->required()
           ->check(kFileOrStdin);
       c.add_flag("--replace", a.replace,
                  "Make the file the whole list (removes unlisted entries)");
       c.add_flag("--force", a.force,
                  "Allow the import to leave no enabled entry while active");
       change_options(c, a);
     }},
    {"export",
     "Write the list as CSV (ip_address,description,enabled,expires_at): "
     "import restores it exactly",
     "xdpgate export -o allowlist.csv", run_export,
     [](CLI::App &c, Args &a) {
       c.add_option("-o,--output", a.output,
                    "File to write (default: standard output)");
     }},
    {"replace",
     "Replace the whole list atomically from a .csv or .json (array) file",
     "xdpgate replace allowlist.csv", run_replace,
     [](CLI::App &c, Args &a) {
       c.add_option("FILE", a.file,
                    "FILE.csv (as import takes) or FILE.json (array "
                    "of {ip_range, description?, enabled?, expires_at?})")
           ->required()
           ->check(CLI::ExistingFile);
       c.add_flag("--force", a.force,
                  "Allow the new list to have no enabled entry while active");
       change_options(c, a);
     }},
    {"activate", "Start filtering (enforce, or --monitor to count only)",
     "xdpgate activate --confirm-within 120   # then: xdpgate confirm",
     run_activate,
     [](CLI::App &c, Args &a) {
       c.add_flag("--monitor", a.monitor,
                  "Pass everything, count what would be dropped");
       c.add_flag("--allow-empty", a.allow_empty,
                  "Activate with no enabled entry (only exempt traffic "
                  "passes)");
       c.add_option("--confirm-within", a.confirm_within_s,
                    "Revert after SECONDS (at most a day) unless `xdpgate "
                    "confirm` arrives")
           ->check(CLI::Range(1u, 86400u));
       change_options(c, a);
     }},
    {"deactivate", "Stop filtering (the list stays)", "xdpgate deactivate",
     run_deactivate, change_options},
    {"confirm", "Confirm a provisional activation (--confirm-within)",
     "xdpgate confirm", run_confirm, no_options},
    {"status", "Show the mode, interfaces, exemptions and counters",
     "xdpgate status", run_status, no_options},
    {"stats", "Show packet counters per verdict, or live rates with --watch",
     "xdpgate stats --watch --interval 2", run_stats,
     [](CLI::App &c, Args &a) {
       auto *watch = c.add_flag("-w,--watch", a.watch,
                                "Print packets/s per verdict until Ctrl-C");
       c.add_option("-i,--interval", a.interval_s,
                    "Seconds between polls (default 1)")
           ->check(CLI::Range(0.1, 3600.0))
           ->needs(watch);
       c.add_option("-n,--count", a.count, "Stop after N samples")
           ->check(CLI::Range(1u, std::numeric_limits<unsigned>::max()))
           ->needs(watch);
     }},
    {"audit", "Show the audit log, newest first", "xdpgate audit --limit 20",
     run_audit,
     [](CLI::App &c, Args &a) {
       c.add_option("--limit", a.limit, "Records to show (daemon default 50)");
       c.add_option("--offset", a.offset, "Records to skip");
     }},
    {"denied",
     "Show the most frequent denied sources per interface, or follow them "
     "live with --follow",
     "xdpgate denied --top 20; xdpgate denied --follow", run_denied,
     [](CLI::App &c, Args &a) {
       auto *top = c.add_option("--top", a.top, "Sources per interface");
       auto *follow = c.add_flag(
           "-f,--follow", a.follow,
           "Print each denied packet as it comes (within the daemon's "
           "budget) until Ctrl-C");
       follow->excludes(top);
       c.add_option("-n,--count", a.count, "With --follow: stop after N")
           ->check(CLI::Range(1u, std::numeric_limits<unsigned>::max()))
           ->needs(follow);
       c.add_option("--for", a.for_s, "With --follow: stop after SECONDS")
           ->check(CLI::Range(0.1, 31536000.0))
           ->needs(follow);
     }},
    {"fleet",
     "Show the hosts sharing this list through etcd, the revision each "
     "enforces and whether it is behind",
     "xdpgate fleet", run_fleet, [](CLI::App &, Args &) {}},
};

constexpr const char *kFooter = R"(
Examples:
  xdpgate add 203.0.113.0/24 -d office
  xdpgate add 198.51.100.7 -d vendor --expires-at 2025-12-31T18:00:00Z
  xdpgate import allowlist.csv --dry-run
  xdpgate activate --confirm-within 120   # then, still connected: xdpgate confirm
  xdpgate stats --watch
  xdpgate --json list --all | jq -r '.items[].ip_range'

The socket is --socket, else $XDPGATE_SOCKET, else /run/xdpgate/xdpgate.sock.
Exit status: 0 success, 1 refused by the daemon, 2 usage error,
3 daemon unreachable. With --json a failure also prints one line on stdout:
{"error": {"code": ..., "message": ..., "field": ...}}.)";

std::string socket_path(const Args &args) {
  if (!args.socket.empty())
    return args.socket;
  if (const char *env = std::getenv("XDPGATE_SOCKET"); env && *env)
    return env;
  return kDefaultSocket;
}

int run(int argc, char **argv) {
  Args args;
  CLI::App app("xdpgate: manage the XDP IP allow list of this host", "xdpgate");
  app.footer(kFooter);
  app.require_subcommand(1);
  // Global options also count after the subcommand: xdpgate list --json.
  app.fallthrough();
  app.add_option("--socket", args.socket,
                 "Control socket of xdpgated (default: $XDPGATE_SOCKET, "
                 "else /run/xdpgate/xdpgate.sock)");
  app.add_flag("--json", args.json, "Print the API's JSON answer");

  Handler chosen = nullptr;
  for (const Command &command : kCommands) {
    CLI::App *sub = app.add_subcommand(command.name, command.summary);
    sub->footer(std::string("\nExample: ") + command.example);
    command.declare(*sub, args);
    sub->callback([&chosen, &command] { chosen = command.run; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // CLI11 has set the main app's flags by the time most errors are found.
    if (args.json && e.get_exit_code() != 0)
      print_error_object(Reason{kInvalidUsage, e.what()});
    int status = app.exit(e);
    return status == 0 ? kExitOk : kExitUsage;
  }

  Session session{ApiClient(socket_path(args)), args.json};
  try {
    return chosen(session, args);
  } catch (const json::exception &e) {
    return report(
        session,
        Reason{kBadAnswer,
               std::string("unexpected answer from xdpgated: ") + e.what()});
  }
}

} // namespace

} // namespace xdpgate::cli

int main(int argc, char **argv) { return xdpgate::cli::run(argc, argv); }
