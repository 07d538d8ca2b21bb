// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The protected interfaces: each gets its own copy of the program (own
// counters, shared list) attached through a pinned link. An interface that
// does not exist yet waits; one that is deleted and created again is
// re-attached by refresh().
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datapath/data_path.hpp"
#include "datapath/xdp_attachment.hpp"
#include "list/list_service.hpp"

namespace xdpgate {

class Interfaces {
public:
  Interfaces(const DataPath &path, std::filesystem::path pin_dir,
             AttachMode mode);

  // Replaces the set of protected interfaces (start and SIGHUP). Interfaces
  // no longer named are detached and their pins removed.
  void configure(const std::vector<std::string> &names);
  // Attaches whatever is waiting or was re-created.
  void refresh();

  nlohmann::json status() const;
  // {interfaces: [{name, sources: [{address, packets, estimated,
  // sample_rate, last_seen_at}]}]}, most packets first, at most top;
  // sample_rate is the rate in force (counts are weighted in the kernel).
  nlohmann::json denied(std::size_t top, std::uint64_t sample_rate) const;
  // Every sampled source of every interface, for a dry run's impact.
  std::vector<SeenSource> recently_denied() const;
  // Per interface, the verdict counters (for tests and metrics).
  std::map<std::string, VerdictCounters> counters() const;

private:
  struct Protected {
    std::optional<InterfaceProgram> program;
    std::optional<XdpAttachment> attachment;
    std::string last_error;
  };

  void attach(const std::string &name, Protected &entry);
  std::filesystem::path pin_dir_of(const std::string &name) const;

  const DataPath &path_;
  std::filesystem::path pin_dir_;
  AttachMode mode_;
  mutable std::mutex mutex_;
  std::map<std::string, Protected> interfaces_;
};

} // namespace xdpgate
