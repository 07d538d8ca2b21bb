// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/session.hpp"

#include <iostream>

namespace xdpgate::cli {

namespace {

// What to do about the refusals an operator meets most, in CLI terms (the
// daemon's messages speak of query parameters). A 403 needs none: the daemon
// names the groups it was configured with.
const char *hint(const std::string &code) {
  if (code == "last_enabled_entry")
    return "repeat with --force to leave no enabled entry (only exempt "
           "traffic then passes)";
  if (code == "empty_list")
    return "add an entry first, or pass --allow-empty";
  if (code == "not_pending")
    return "`xdpgate status` shows whether an activation awaits confirmation";
  return nullptr;
}

} // namespace

// One line, so that it also ends the line-per-sample output of
// stats --watch as one more JSON line.
void print_error_object(const Failure &failure) {
  std::cout << failure.object.dump(-1, ' ', false,
                                   json::error_handler_t::replace)
            << std::endl;
}

int report(const Session &session, const Failure &failure) {
  if (session.json)
    print_error_object(failure);
  const Reason &error = failure.error;
  std::cerr << "error: " << error.message;
  // The daemon's messages usually name the field; say it when they do not.
  if (!error.field.empty() &&
      error.message.find(error.field) == std::string::npos)
    std::cerr << " (field " << error.field << ")";
  std::cerr << '\n';
  if (const char *what_to_do = hint(error.code))
    std::cerr << "hint: " << what_to_do << '\n';
  return error.code == kUnreachable ? kExitUnreachable : kExitApiError;
}

int usage_error(const Session &session, const std::string &message) {
  if (session.json)
    print_error_object(Reason{kInvalidUsage, message});
  std::cerr << "error: " << message << "\nRun with --help for more "
            << "information.\n";
  return kExitUsage;
}

int show(const Session &session, const CallResult<Reply> &reply,
         const std::function<void(const json &)> &human) {
  if (!reply)
    return report(session, reply.error());
  if (session.json)
    std::cout << reply->body.dump(2, ' ', false, json::error_handler_t::replace)
              << '\n';
  else
    human(reply->body);
  return kExitOk;
}

std::string
query(std::initializer_list<std::pair<const char *, std::string>> params) {
  std::string out;
  for (const auto &[key, value] : params)
    if (!value.empty())
      out += (out.empty() ? "?" : "&") + std::string(key) + "=" + value;
  return out;
}

} // namespace xdpgate::cli
