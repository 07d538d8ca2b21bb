// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "daemon/uninstall.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "datapath/pin_owner.hpp"
#include "datapath/tc_egress.hpp"
#include "datapath/xdp_attachment.hpp"

namespace xdpgate {

namespace {

// The flow map the egress recorder writes (bpf/maps.h), pinned at the top
// of the pin directory: a recorder whose program uses it is this
// directory's.
constexpr const char *kFlowMapPin = "own_flows";

// Every interface has a folder of its own in the pin directory.
std::vector<std::string> pinned_interfaces(const std::filesystem::path &dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_directory(ec))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string joined(const std::vector<std::string> &names) {
  std::string text;
  for (const std::string &name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "none" : text;
}

// Checked before anything is removed. From another network namespace,
// removing a link pin would still detach the program, but its egress
// recorder could not be found and would stay behind.
Status check_removable(const std::filesystem::path &pin_dir,
                       const std::vector<std::string> &names,
                       const std::vector<std::string> &pinned) {
  for (const std::string &name : names) {
    if (std::find(pinned.begin(), pinned.end(), name) == pinned.end())
      return Error{ErrorCode::NotPinned, "nothing is pinned for " + name +
                                             " under " + pin_dir.string() +
                                             " (pinned: " + joined(pinned) +
                                             "); nothing was removed"};
    if (pinned_link_elsewhere(pin_dir / name / "link", name))
      return Error{ErrorCode::WrongNamespace,
                   name + ": its pinned XDP link is not on " + name +
                       " of this network namespace (it is another "
                       "namespace's, or was renamed); nothing was removed. "
                       "Run xdpgated --uninstall in the interface's network "
                       "namespace (nsenter --net=/run/netns/NAME xdpgated "
                       "--uninstall ...)"};
  }
  return {};
}

// Removing the link pin detaches the XDP program: the stopped daemon holds
// no other reference to the link.
Result<std::uintmax_t> remove_interface(const std::filesystem::path &pin_dir,
                                        const std::string &name,
                                        int flow_map_fd) {
  if (unsigned ifindex = if_nametoindex(name.c_str()))
    detach_tc_egress_using(static_cast<int>(ifindex), flow_map_fd);
  std::error_code ec;
  std::uintmax_t removed = std::filesystem::remove_all(pin_dir / name, ec);
  if (ec)
    return Error{ErrorCode::UninstallFailed,
                 "removing " + (pin_dir / name).string() +
                     " failed: " + ec.message(),
                 "", ec.value()};
  return removed;
}

} // namespace

int uninstall(const DaemonOptions &options) {
  std::error_code ec;
  if (!std::filesystem::exists(options.pin_dir, ec)) {
    spdlog::info("nothing pinned at {}", options.pin_dir.string());
    return 0;
  }
  // The state directory names the daemon whose pins these may be.
  auto config = load_effective_config(options);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  auto owner = PinOwner::for_removal(options.pin_dir, config->state_dir);
  if (!owner) {
    spdlog::error("{}", owner.error().message);
    return 1;
  }
  const std::vector<std::string> pinned = pinned_interfaces(options.pin_dir);
  const std::vector<std::string> &names =
      options.interfaces.empty() ? pinned : options.interfaces;
  if (Status s = check_removable(options.pin_dir, names, pinned); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }

  Fd flows(bpf_obj_get((options.pin_dir / kFlowMapPin).c_str()));
  std::uintmax_t removed = 0;
  for (const std::string &name : names) {
    auto gone = remove_interface(options.pin_dir, name, flows.get());
    if (!gone) {
      spdlog::error("{}", gone.error().message);
      return 1;
    }
    removed += *gone;
    spdlog::info("{}: detached, {} pins removed", name, *gone);
  }
  if (!options.interfaces.empty()) {
    std::vector<std::string> rest;
    for (const std::string &name : pinned)
      if (std::find(names.begin(), names.end(), name) == names.end())
        rest.push_back(name);
    spdlog::info("still protected through {}: {}", options.pin_dir.string(),
                 joined(rest));
    return 0;
  }
  removed += std::filesystem::remove_all(options.pin_dir, ec);
  if (ec) {
    spdlog::error("removing {} failed: {}", options.pin_dir.string(),
                  ec.message());
    return 1;
  }
  spdlog::info("removed {} pins under {}; xdpgate no longer filters", removed,
               options.pin_dir.string());
  return 0;
}

} // namespace xdpgate
