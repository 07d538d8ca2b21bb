// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Would enforcing the list cut off the operator's own SSH session? Asked
// before activation, from SSH_CONNECTION ("client port server port").
//
// /check alone cannot tell: while the restriction is inactive it answers
// "allowed" for every address. So the guard asks /check when the restriction
// is active and otherwise matches the address against the enabled entries
// itself (longest-prefix semantics reduce to "some prefix contains it"); in
// both cases exempt sources, exempt ports and the protected-port scope from
// /status are honoured first, as the data path does.
#pragma once

#include <optional>
#include <string>

#include "cli/client.hpp"
#include "common/result.hpp"

namespace xdpgate::cli {

struct SshExposure {
  std::string address; // the SSH client as the data path sees it
  bool dropped = false;
  std::string reason; // why it passes or is dropped, for the operator
};

// Nothing when this process is not in an SSH session.
CallResult<std::optional<SshExposure>>
ssh_session_exposure(const ApiClient &api);

} // namespace xdpgate::cli
