// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Handlers that move the whole list as a file: import and replace (CSV or
// JSON in), export (CSV out).
//
// replace FILE.csv is sent as POST /import?replace=true: the daemon applies
// the CSV header and quoting rules itself and reports every bad line, so the
// CLI carries no second CSV parser. replace FILE.json is PUT as is.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/change.hpp"
#include "cli/commands.hpp"
#include "cli/tables.hpp"

namespace xdpgate::cli {

namespace {

// Reads a whole file, or standard input for "-".
Result<std::string> read_input(const std::string &file) {
  if (file == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return Error{ErrorCode::Io,
                 "cannot read " + file + ": " + std::strerror(errno)};
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad())
    return Error{ErrorCode::Io,
                 "cannot read " + file + ": " + std::strerror(errno)};
  return content.str();
}

bool has_extension(std::string name, std::string_view extension) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return name.size() > extension.size() && name.ends_with(extension);
}

// "+ 203.0.113.0/24" for each change, the first few of each kind; `count`
// is how many there are (the answer lists at most the first 1,000).
void print_changes(char sign, const json &changes, std::size_t count) {
  constexpr std::size_t kShown = 50;
  if (!changes.is_array())
    return;
  for (std::size_t i = 0; i < changes.size() && i < kShown; ++i)
    std::cout << sign << ' ' << text(changes[i]) << '\n';
  if (count > std::min(changes.size(), kShown))
    std::cout << "  … and " << count - std::min(changes.size(), kShown)
              << " more (`xdpgate audit` names every one)\n";
}

void print_import(const Reply &reply) {
  const json &answer = reply.body;
  auto count = [&](const char *key) -> std::size_t {
    const json &n = member(member(answer, "counts"), key);
    return n.is_number_unsigned() ? n.get<std::size_t>() : 0;
  };
  std::cout << "added " << count("added") << ", updated " << count("updated")
            << ", removed " << count("removed") << "; " << count("unchanged")
            << " unchanged\n";
  print_changes('+', member(answer, "added"), count("added"));
  print_changes('~', member(answer, "updated"), count("updated"));
  print_changes('-', member(answer, "removed"), count("removed"));
}

std::string flag(bool on) { return on ? "true" : ""; }

} // namespace

int run_import(const Session &session, const Args &args) {
  auto csv = read_input(args.file);
  if (!csv)
    return report(session, csv.error());
  ChangeRequest change{"POST",
                       "/import" + query({{"replace", flag(args.replace)},
                                          {"force", flag(args.force)}})};
  change.csv = std::move(*csv);
  return make_change(session, args, change, print_import);
}

int run_export(const Session &session, const Args &args) {
  auto csv = session.api.get_text("/export");
  if (!csv)
    return report(session, csv.error());
  if (!args.output || *args.output == "-") {
    std::cout << *csv << std::flush;
    return std::cout
               ? kExitOk
               : report(session, Error{ErrorCode::Io, "cannot write output"});
  }
  std::ofstream out(*args.output, std::ios::binary | std::ios::trunc);
  out << *csv;
  out.close();
  if (!out)
    return report(session,
                  Error{ErrorCode::Io, "cannot write " + *args.output + ": " +
                                           std::strerror(errno)});
  std::cerr << "exported to " << *args.output << '\n';
  return kExitOk;
}

int run_replace(const Session &session, const Args &args) {
  bool is_csv = has_extension(args.file, ".csv");
  if (!is_csv && !has_extension(args.file, ".json"))
    return usage_error(session,
                       "replace takes a .csv file (as import takes) or "
                       "a .json file (an array of entries): " +
                           args.file);
  auto content = read_input(args.file);
  if (!content)
    return report(session, content.error());
  if (is_csv) {
    ChangeRequest change{
        "POST",
        "/import" + query({{"replace", "true"}, {"force", flag(args.force)}})};
    change.csv = std::move(*content);
    return make_change(session, args, change, print_import);
  }

  json entries = json::parse(*content, nullptr, false);
  if (!entries.is_array())
    return report(session,
                  Error{ErrorCode::InvalidJson,
                        args.file + ": expected a JSON array of entries "
                                    "({\"ip_range\": …, \"description\": …})"});
  return make_change(
      session, args, {"PUT", query({{"force", flag(args.force)}}), entries},
      [](const Reply &reply) {
        std::cout << "replaced the list: " << text(member(reply.body, "total"))
                  << " entries\n";
      });
}

} // namespace xdpgate::cli
