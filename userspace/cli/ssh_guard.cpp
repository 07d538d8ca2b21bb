// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/ssh_guard.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "cli/tables.hpp"

namespace xdpgate::cli {

namespace {

bool contains_port(const json &ports, unsigned port) {
  return ports.is_array() &&
         std::any_of(ports.begin(), ports.end(), [port](const json &p) {
           return p.is_number_integer() && p.get<long long>() == port;
         });
}

} // namespace

CallResult<std::optional<SshClient>> ssh_client() {
  const char *connection = std::getenv("SSH_CONNECTION");
  if (!connection || !*connection)
    return std::optional<SshClient>();
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
  // A dual-stack sshd reports IPv4 clients as ::ffff:a.b.c.d.
  return std::optional(SshClient{parsed->unmapped(), server_port});
}

CallResult<std::optional<std::string>> port_exemption(const ApiClient &api,
                                                      unsigned server_port) {
  auto status = api.call("GET", "/status");
  if (!status)
    return status.error();
  const json &exempt_ports =
      member(member(status->body, "exemptions"), "tcp_ports");
  const json &protected_ports =
      member(member(status->body, "scope"), "protected_tcp_ports");
  const std::string port = "port " + std::to_string(server_port) + "/tcp";
  if (contains_port(exempt_ports, server_port))
    return std::optional<std::string>(port + " is exempt");
  if (protected_ports.is_array() && !protected_ports.empty() &&
      !contains_port(protected_ports, server_port))
    return std::optional<std::string>(port + " is not a protected port");
  return std::optional<std::string>();
}

} // namespace xdpgate::cli
