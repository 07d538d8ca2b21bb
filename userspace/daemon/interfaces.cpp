// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "daemon/interfaces.hpp"

#include <algorithm>
#include <set>
#include <spdlog/spdlog.h>

#include "datapath/tc_egress.hpp"
#include "model/clock.hpp"
#include "model/verdicts.hpp"

namespace xdpgate {

Interfaces::Interfaces(const DataPath &path, std::filesystem::path pin_dir,
                       AttachMode mode)
    : path_(path), pin_dir_(std::move(pin_dir)), mode_(mode) {}

std::filesystem::path Interfaces::pin_dir_of(const std::string &name) const {
  return pin_dir_ / name;
}

void Interfaces::configure(const std::vector<std::string> &names) {
  std::lock_guard lock(mutex_);
  std::set<std::string> wanted(names.begin(), names.end());
  for (auto it = interfaces_.begin(); it != interfaces_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    // Dropping the link's last reference detaches the program.
    if (it->second.attachment)
      detach_tc_egress(it->second.attachment->ifindex());
    std::error_code ec;
    std::filesystem::remove_all(pin_dir_of(it->first), ec);
    spdlog::info("{}: no longer protected, detached", it->first);
    it = interfaces_.erase(it);
  }
  for (const std::string &name : wanted)
    if (!interfaces_.count(name))
      attach(name, interfaces_[name]);
}

void Interfaces::attach(const std::string &name, Protected &entry) {
  if (!entry.program) {
    auto program = path_.load_interface_program(pin_dir_of(name));
    if (!program) {
      entry.last_error = program.error().message;
      spdlog::error("{}: {}", name, entry.last_error);
      return;
    }
    entry.program.emplace(std::move(program.value()));
  }
  auto attached = XdpAttachment::attach(entry.program->program_fd(), name,
                                        mode_, pin_dir_of(name) / "link");
  if (!attached) {
    if (entry.last_error != attached.error().message)
      spdlog::warn("{}: waiting: {}", name, attached.error().message);
    entry.last_error = attached.error().message;
    entry.attachment.reset();
    return;
  }
  entry.attachment.emplace(std::move(attached.value()));
  entry.last_error.clear();
  // Without the recorder the host's own outbound traffic would lose its
  // replies once enforcing: say so loudly, but keep the filter.
  if (Status s = attach_tc_egress(entry.program->egress_program_fd(),
                                  entry.attachment->ifindex());
      !s)
    spdlog::error("{}: {}; replies to this host's own connections will be "
                  "judged like any other traffic",
                  name, s.error().message);
  spdlog::info("{}: attached in {} mode (ifindex {})", name,
               to_string(entry.attachment->mode()),
               entry.attachment->ifindex());
}

void Interfaces::refresh() {
  std::lock_guard lock(mutex_);
  for (auto &[name, entry] : interfaces_) {
    if (entry.attachment && entry.attachment->still_attached())
      continue;
    if (entry.attachment)
      spdlog::info("{}: interface went away or was re-created", name);
    attach(name, entry);
  }
}

nlohmann::json Interfaces::status() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto &[name, entry] : interfaces_) {
    nlohmann::json i = {{"name", name}};
    bool attached = entry.attachment && entry.attachment->still_attached();
    i["state"] = attached ? "attached" : "waiting";
    i["attach_mode"] = attached
                           ? nlohmann::json(to_string(entry.attachment->mode()))
                           : nlohmann::json(nullptr);
    i["program_id"] = attached ? entry.attachment->program_id() : 0;
    i["ifindex"] = attached ? entry.attachment->ifindex() : 0;
    if (!entry.last_error.empty())
      i["error"] = entry.last_error;
    nlohmann::json counters = nlohmann::json::object();
    if (entry.program)
      if (auto c = entry.program->verdict_counters())
        for (int v = 0; v < XDPGATE_VERDICT_COUNT; ++v)
          counters[std::string(kVerdictNames[v])] = {
              {"packets", (*c)[v].packets}, {"bytes", (*c)[v].bytes}};
    i["counters"] = counters;
    out.push_back(i);
  }
  return out;
}

nlohmann::json Interfaces::denied(std::size_t top,
                                  std::uint64_t sample_rate) const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto &[name, entry] : interfaces_) {
    nlohmann::json sources = nlohmann::json::array();
    if (entry.program)
      if (auto found = entry.program->denied_sources()) {
        auto &list = found.value();
        std::sort(list.begin(), list.end(), [](const auto &a, const auto &b) {
          return a.packets > b.packets;
        });
        for (std::size_t i = 0; i < list.size() && i < top; ++i)
          sources.push_back({{"address", list[i].address.to_string()},
                             {"packets", list[i].packets},
                             {"estimated", list[i].estimated},
                             {"sample_rate", sample_rate},
                             {"last_seen_at",
                              monotonic_ns_to_epoch_ms(list[i].last_seen_ns)}});
      }
    out.push_back({{"name", name}, {"sources", sources}});
  }
  return {{"interfaces", out}};
}

std::vector<SeenSource> Interfaces::recently_denied() const {
  std::lock_guard lock(mutex_);
  std::vector<SeenSource> out;
  for (const auto &[name, entry] : interfaces_)
    if (entry.program)
      if (auto found = entry.program->denied_sources())
        for (const DeniedSource &s : *found)
          out.push_back(
              {s.address, s.packets, monotonic_ns_to_epoch_ms(s.last_seen_ns)});
  return out;
}

std::map<std::string, VerdictCounters> Interfaces::counters() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, VerdictCounters> out;
  for (const auto &[name, entry] : interfaces_)
    if (entry.program)
      if (auto c = entry.program->verdict_counters())
        out[name] = *c;
  return out;
}

} // namespace xdpgate
