// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/ssh_guard.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "cli/tables.hpp"
#include "cli/views.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate::cli {

namespace {

// A dual-stack sshd reports IPv4 clients as ::ffff:a.b.c.d, but their
// packets reach the XDP program as IPv4.
IpPrefix unmap_ipv4(IpPrefix address) {
  const auto &a = address.addr;
  bool mapped =
      address.family == Family::V6 &&
      std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) &&
      a[10] == 0xff && a[11] == 0xff;
  if (!mapped)
    return address;
  IpPrefix v4;
  v4.family = Family::V4;
  v4.length = 32;
  std::copy(a.begin() + 12, a.end(), v4.addr.begin());
  return v4;
}

bool contains_port(const json &ports, unsigned port) {
  return ports.is_array() &&
         std::any_of(ports.begin(), ports.end(), [port](const json &p) {
           return p.is_number_integer() && p.get<long long>() == port;
         });
}

// The first range in `ranges` (strings, or entries with ip_range) that
// contains `address`.
std::optional<std::string> first_containing(const json &ranges,
                                            const IpPrefix &address) {
  if (!ranges.is_array())
    return std::nullopt;
  for (const json &item : ranges) {
    bool is_entry = item.is_object();
    if (is_entry && member(item, "enabled") == false)
      continue;
    const json &range = is_entry ? member(item, "ip_range") : item;
    if (!range.is_string())
      continue;
    auto prefix = IpPrefix::parse(range.get<std::string>());
    if (prefix && prefix->contains(address))
      return is_entry
                 ? text(member(item, "id")) + " (" + prefix->to_string() + ")"
                 : prefix->to_string();
  }
  return std::nullopt;
}

// Why the data path lets this connection through regardless of the list.
CallResult<std::optional<std::string>>
exemption(const ApiClient &api, const IpPrefix &address, unsigned server_port) {
  auto status = api.call("GET", "/status");
  if (!status)
    return status.error();
  const json &exempt = member(status->body, "exemptions");
  const json &protected_ports =
      member(member(status->body, "scope"), "protected_tcp_ports");
  if (auto source = first_containing(member(exempt, "sources"), address))
    return std::optional<std::string>("exempt source " + *source);
  if (contains_port(member(exempt, "tcp_ports"), server_port))
    return std::optional<std::string>("port " + std::to_string(server_port) +
                                      "/tcp is exempt");
  if (protected_ports.is_array() && !protected_ports.empty() &&
      !contains_port(protected_ports, server_port))
    return std::optional<std::string>("port " + std::to_string(server_port) +
                                      "/tcp is not a protected port");
  return std::optional<std::string>();
}

} // namespace

CallResult<std::optional<SshExposure>>
ssh_session_exposure(const ApiClient &api) {
  const char *connection = std::getenv("SSH_CONNECTION");
  if (!connection || !*connection)
    return std::optional<SshExposure>();

  std::istringstream fields(connection);
  std::string client, client_port, server;
  unsigned server_port = 0;
  fields >> client >> client_port >> server >> server_port;
  // Link-local clients carry a zone ("fe80::1%eth0") the parser rejects.
  std::string bare = client.substr(0, client.find('%'));
  auto parsed = IpPrefix::parse_address(bare, "SSH_CONNECTION");
  if (!parsed)
    return Failure(Reason{"invalid_ssh_connection",
                          "cannot check whether this SSH session would be cut "
                          "off: " +
                              parsed.error().message +
                              " (unset SSH_CONNECTION to skip the check)"});
  IpPrefix address = unmap_ipv4(*parsed);
  SshExposure exposure{address.to_string(), false, ""};

  auto exempt = exemption(api, address, server_port);
  if (!exempt)
    return exempt.error();
  if (*exempt) {
    exposure.reason = **exempt;
    return std::optional(exposure);
  }

  auto check =
      api.call("POST", "/check", json{{"ip_address", exposure.address}});
  if (!check)
    return check.error();
  if (member(check->body, "restriction_active") == true) {
    exposure.dropped = member(check->body, "allowed") != true;
    exposure.reason =
        exposure.dropped
            ? "no enabled entry contains it"
            : "allowed by " + entry_name(member(check->body, "matched_entry"));
    return std::optional(exposure);
  }

  auto list = api.call("GET", "");
  if (!list)
    return list.error();
  auto entry = first_containing(member(list->body, "items"), address);
  exposure.dropped = !entry;
  exposure.reason =
      entry ? "allowed by " + *entry : "no enabled entry contains it";
  return std::optional(exposure);
}

} // namespace xdpgate::cli
