// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpgated's parts wired together: configuration, store, data path, list
// rules, protected interfaces and the control socket.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "config/config.hpp"

namespace xdpgate {

struct DaemonOptions {
  std::filesystem::path config_path;
  bool config_path_given = false;
  std::vector<std::string> interfaces; // --interface, overrides the file
  std::optional<std::filesystem::path> socket;
  std::optional<std::filesystem::path> state_dir;
  std::filesystem::path pin_dir = "/sys/fs/bpf/xdpgate";
};

// Loads the configuration with the command-line overrides applied.
Result<Config> load_effective_config(const DaemonOptions &options);

// Runs until SIGTERM or SIGINT; SIGHUP reloads the configuration. Filtering
// stays pinned and running after it returns. Returns the exit status.
int run_daemon(const DaemonOptions &options);

} // namespace xdpgate
