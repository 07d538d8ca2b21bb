// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The operator's own SSH session, from SSH_CONNECTION ("client port server
// port"): the address a change must not cut off, sent to the daemon's dry
// runs as X-Client-Address (which judge the address as the data path does,
// exempt sources included), and the server port, which the daemon's answer
// does not cover: an exempt port, or one outside the protected scope, passes
// whatever the list says.
#pragma once

#include <optional>
#include <string>

#include "cli/client.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate::cli {

struct SshClient {
  IpPrefix address; // as the data path sees it (IPv4 when v4-mapped)
  unsigned server_port = 0;
};

// Nothing when this process is not in an SSH session.
CallResult<std::optional<SshClient>> ssh_client();

// Why the data path passes every packet to `server_port`/tcp whatever the
// list says, from /status; nothing when it does not.
CallResult<std::optional<std::string>> port_exemption(const ApiClient &api,
                                                      unsigned server_port);

} // namespace xdpgate::cli
