// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/change.hpp"

#include <iostream>
#include <unistd.h>

#include "cli/ssh_guard.hpp"
#include "cli/tables.hpp"

namespace xdpgate::cli {

namespace {

// The CLI's own error code for a change it refused to make.
constexpr const char *kSshCutOff = "ssh_session_would_be_dropped";

std::string with_dry_run(const std::string &path) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") +
         "dry_run=true";
}

CallResult<Reply> send(const Session &session, const ChangeRequest &change,
                       const std::string &path, const ExtraHeaders &headers) {
  if (change.csv)
    return session.api.post_csv(path, *change.csv, headers);
  return session.api.call(change.method, path, change.body, headers);
}

void print_sources(std::ostream &out, const std::string &title,
                   const json &sources, const json &total) {
  if (!sources.is_array() || sources.empty())
    return;
  Table table({{title}, {"PACKETS", true}, {"LAST SEEN"}});
  for (const json &source : sources)
    table.add_row({text(member(source, "address")),
                   text(member(source, "packets")),
                   time_text(member(source, "last_seen_at"))});
  table.print(out);
  if (total.is_number_unsigned() && total.get<std::size_t>() > sources.size())
    out << "  … and " << total.get<std::size_t>() - sources.size()
        << " more (--json lists the first 100)\n";
}

// The sources seen lately whose verdict the change turns, and the caller.
void print_impact(std::ostream &out, const json &impact) {
  const json &start = member(impact, "start_dropping");
  const json &stop = member(impact, "stop_dropping");
  if ((!start.is_array() || start.empty()) &&
      (!stop.is_array() || stop.empty()))
    out << "no source seen in the last 24 hours would change verdict\n";
  print_sources(out, "WOULD START DROPPING", start,
                member(impact, "start_dropping_total"));
  print_sources(out, "WOULD STOP DROPPING", stop,
                member(impact, "stop_dropping_total"));
  if (const json &caller = member(impact, "caller_address"); !caller.is_null())
    out << "your address " << text(caller)
        << (member(impact, "caller_cut_off") == true ? " would be cut off\n"
                                                     : " would still pass\n");
}

bool ask_yes(const std::string &question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

// Returns the exit status when the change must not go ahead.
std::optional<int> guard_ssh_session(const Session &session, const Args &args,
                                     const SshClient &ssh, const json &impact) {
  if (member(impact, "caller_cut_off") != true)
    return std::nullopt;
  auto exempt = port_exemption(session.api, ssh.server_port);
  if (!exempt)
    return report(session, exempt.error());
  if (*exempt)
    return std::nullopt;

  const std::string address = ssh.address.to_string();
  std::cerr << "warning: this SSH session comes from " << address
            << ", which this change would drop:\n";
  print_impact(std::cerr, impact);
  std::cerr << "Allow it first: xdpgate add " << address
            << " -d 'admin access'\n";
  if (args.yes)
    return std::nullopt;
  if (!::isatty(STDIN_FILENO))
    return report(session, Reason{kSshCutOff, "nothing changed; pass --yes to "
                                              "make this change anyway"});
  if (!ask_yes("Make the change anyway?"))
    return report(session, Reason{kSshCutOff, "nothing changed"});
  return std::nullopt;
}

} // namespace

int make_change(const Session &session, const Args &args,
                const ChangeRequest &change,
                const std::function<void(const Reply &)> &human) {
  auto ssh = ssh_client();
  if (!ssh)
    return report(session, ssh.error());
  ExtraHeaders headers;
  if (*ssh)
    headers.emplace_back("X-Client-Address", (*ssh)->address.to_string());

  if (args.dry_run) {
    auto preview = send(session, change, with_dry_run(change.path), headers);
    const int status = preview ? preview->status : 0;
    return show(session, preview, [&human, status](const json &answer) {
      std::cout << "dry run, nothing changed; the change would answer:\n\n";
      human(Reply{status, member(answer, "result")});
      std::cout << '\n';
      print_impact(std::cout, member(answer, "impact"));
    });
  }
  if (*ssh) {
    auto preview = send(session, change, with_dry_run(change.path), headers);
    if (!preview) // the refusal the change itself would get
      return report(session, preview.error());
    if (auto refused = guard_ssh_session(session, args, **ssh,
                                         member(preview->body, "impact")))
      return *refused;
  }
  auto reply = send(session, change, change.path, {});
  const int status = reply ? reply->status : 0;
  return show(session, reply, [&human, status](const json &answer) {
    human(Reply{status, answer});
  });
}

} // namespace xdpgate::cli
