// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "daemon/daemon.hpp"

#include <csignal>
#include <grp.h>
#include <linux/magic.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sys/statfs.h>
#include <systemd/sd-daemon.h>

#include "api/api_server.hpp"
#include "daemon/clock.hpp"
#include "daemon/interfaces.hpp"
#include "datapath/data_path.hpp"
#include "datapath/tc_egress.hpp"
#include "links/link_watcher.hpp"
#include "list/list_service.hpp"
#include "store/store.hpp"

namespace xdpgate {

namespace {

RuntimeConfig runtime_config(const Config &config, Mode mode) {
  RuntimeConfig r;
  r.mode = mode;
  r.exempt_tcp_ports = {config.exempt_tcp_ports.begin(),
                        config.exempt_tcp_ports.end()};
  r.exempt_udp_ports = {config.exempt_udp_ports.begin(),
                        config.exempt_udp_ports.end()};
  r.protected_tcp_ports = {config.protected_tcp_ports.begin(),
                           config.protected_tcp_ports.end()};
  r.protected_udp_ports = {config.protected_udp_ports.begin(),
                           config.protected_udp_ports.end()};
  r.track_replies = true; // every protected interface records egress flows
  return r;
}

std::optional<gid_t> group_id(const std::string &name) {
  group grp{}, *found = nullptr;
  std::vector<char> buffer(16384);
  if (getgrnam_r(name.c_str(), &grp, buffer.data(), buffer.size(), &found) !=
          0 ||
      !found) {
    spdlog::warn("group {} does not exist; only root gets the access it "
                 "would grant (create it with: groupadd {})",
                 name, name);
    return std::nullopt;
  }
  return found->gr_gid;
}

bool bpffs_mounted(const std::filesystem::path &pin_dir) {
  struct statfs fs {};
  std::filesystem::path probe = pin_dir;
  while (!probe.empty() && !std::filesystem::exists(probe))
    probe = probe.parent_path();
  return statfs(probe.c_str(), &fs) == 0 &&
         static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC;
}

nlohmann::json ports_json(const std::vector<std::uint16_t> &ports) {
  return nlohmann::json(ports);
}

// Everything the running daemon owns, in construction order.
class Daemon {
public:
  Daemon(const DaemonOptions &options, Config config, DataPath path)
      : options_(options), config_(std::move(config)), path_(std::move(path)),
        interfaces_(path_, options.pin_dir, config_.attach_mode) {}

  Status start(Store store) {
    auto service = ListService::open(
        std::move(store),
        [this](const KernelChange &k) { return sync_kernel(k); },
        [this](const IpPrefix &range) { return entry_hits(range); },
        [this](const IpPrefix &address) {
          std::lock_guard lock(kernel_mutex_);
          return path_.lookup(address);
        },
        now_epoch_ms);
    if (!service)
      return service.error();
    list_ = std::move(service.value());
    interfaces_.configure(config_.interfaces);
    // Link events make re-attachment immediate; tick() still polls as a
    // safety net.
    auto links = LinkWatcher::start([this](const LinkEvent &event) {
      if (!event.removed)
        interfaces_.refresh();
    });
    if (!links)
      return links.error();
    links_ = std::move(links.value());

    api::ApiBackend backend{
        *list_,
        [this] { return interfaces_.status(); },
        [this] { return exemptions(); },
        [this] { return scope(); },
        [this](std::size_t top) { return interfaces_.denied(top); },
        [this] {
          std::lock_guard lock(kernel_mutex_);
          return last_sync_;
        }};
    api::ApiServerOptions api_options;
    api_options.socket_path = config_.socket;
    api_options.access = {group_id(config_.write_group),
                          group_id(config_.read_group)};
    auto api = api::ApiServer::start(api_options, std::move(backend));
    if (!api)
      return api.error();
    api_ = std::move(api.value());
    return {};
  }

  void tick() {
    list_->tick();
    interfaces_.refresh();
  }

  void reload() {
    auto next = load_effective_config(options_);
    if (!next) {
      spdlog::error("reload refused, keeping the running configuration: {}",
                    next.error().message);
      return;
    }
    if (next->socket != config_.socket ||
        next->state_dir != config_.state_dir ||
        next->capacity != config_.capacity)
      spdlog::warn("socket, state_dir and capacity take effect only after a "
                   "restart of xdpgated");
    {
      std::lock_guard lock(kernel_mutex_);
      config_.exempt_tcp_ports = next->exempt_tcp_ports;
      config_.exempt_udp_ports = next->exempt_udp_ports;
      config_.exempt_sources = next->exempt_sources;
      config_.protected_tcp_ports = next->protected_tcp_ports;
      config_.protected_udp_ports = next->protected_udp_ports;
      config_.interfaces = next->interfaces;
      if (Status s = path_.apply(runtime_config(config_, mode_),
                                 config_.exempt_sources, {});
          !s)
        spdlog::error("applying the reloaded configuration failed: {}",
                      s.error().message);
    }
    interfaces_.configure(next->interfaces);
    spdlog::info("configuration reloaded");
  }

  void stop() {
    links_.reset();
    if (api_)
      api_->stop();
  }

private:
  Status sync_kernel(const KernelChange &k) {
    std::lock_guard lock(kernel_mutex_);
    RuntimeConfig config = runtime_config(config_, k.mode);
    Status s = k.whole_list
                   ? path_.sync({config, config_.exempt_sources, k.allow.added})
                   : path_.apply(config, config_.exempt_sources, k.allow);
    if (s) {
      mode_ = k.mode;
      last_sync_ = now_epoch_ms();
    }
    return s;
  }

  std::optional<std::pair<std::uint64_t, EpochMs>>
  entry_hits(const IpPrefix &range) {
    std::lock_guard lock(kernel_mutex_);
    auto hits = path_.entry_hits(range);
    if (!hits)
      return std::nullopt;
    EpochMs last =
        hits->last_hit_ns ? monotonic_ns_to_epoch_ms(hits->last_hit_ns) : 0;
    return std::pair{hits->packets, last};
  }

  nlohmann::json exemptions() {
    std::lock_guard lock(kernel_mutex_);
    nlohmann::json sources = nlohmann::json::array();
    for (const IpPrefix &p : config_.exempt_sources)
      sources.push_back(p.to_string());
    return {{"tcp_ports", ports_json(config_.exempt_tcp_ports)},
            {"udp_ports", ports_json(config_.exempt_udp_ports)},
            {"sources", sources}};
  }

  nlohmann::json scope() {
    std::lock_guard lock(kernel_mutex_);
    return {{"protected_tcp_ports", ports_json(config_.protected_tcp_ports)},
            {"protected_udp_ports", ports_json(config_.protected_udp_ports)}};
  }

  const DaemonOptions &options_;
  std::mutex kernel_mutex_; // guards config_, path_, last_*
  Config config_;
  DataPath path_;
  Mode mode_ = Mode::Off; // as last written to the kernel
  std::optional<EpochMs> last_sync_;
  Interfaces interfaces_;
  std::unique_ptr<ListService> list_;
  std::unique_ptr<LinkWatcher> links_;
  std::unique_ptr<api::ApiServer> api_;
};

} // namespace

Result<Config> load_effective_config(const DaemonOptions &options) {
  auto config = load_config(options.config_path, options.config_path_given);
  if (!config)
    return config;
  if (!options.interfaces.empty())
    config->interfaces = options.interfaces;
  if (options.socket)
    config->socket = *options.socket;
  if (options.state_dir)
    config->state_dir = *options.state_dir;
  return config;
}

int run_daemon(const DaemonOptions &options) {
  // Signals are taken synchronously by the main loop, never by a worker.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP})
    sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto config = load_effective_config(options);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  if (!bpffs_mounted(options.pin_dir)) {
    spdlog::error("{} is not on a bpf filesystem; mount it with: mount -t bpf "
                  "bpf /sys/fs/bpf",
                  options.pin_dir.string());
    return 1;
  }
  auto store = Store::open(config->state_dir);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  DataPathOptions path_options;
  path_options.capacity = config->capacity;
  path_options.pin_dir = options.pin_dir;
  auto path = DataPath::load(path_options);
  if (!path) {
    spdlog::error("{}", path.error().message);
    return 1;
  }

  Daemon daemon(options, std::move(config.value()), std::move(path.value()));
  if (Status s = daemon.start(std::move(store.value())); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  sd_notify(0, "READY=1");
  spdlog::info("xdpgated ready");

  for (;;) {
    timespec second{1, 0};
    int signal = sigtimedwait(&signals, nullptr, &second);
    if (signal == SIGTERM || signal == SIGINT)
      break;
    if (signal == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      daemon.reload();
      sd_notify(0, "READY=1");
      continue;
    }
    daemon.tick();
  }
  sd_notify(0, "STOPPING=1");
  daemon.stop();
  spdlog::info("xdpgated stopped; filtering stays attached through the pins "
               "in {}",
               options.pin_dir.string());
  return 0;
}

int uninstall(const DaemonOptions &options) {
  std::error_code ec;
  if (!std::filesystem::exists(options.pin_dir, ec)) {
    spdlog::info("nothing pinned at {}", options.pin_dir.string());
    return 0;
  }
  // The egress recorders live in the interfaces' qdiscs, one per pinned
  // interface directory.
  for (const auto &dir :
       std::filesystem::directory_iterator(options.pin_dir, ec))
    if (dir.is_directory())
      if (unsigned ifindex = if_nametoindex(dir.path().filename().c_str()))
        detach_tc_egress(static_cast<int>(ifindex));
  // Removing the link pins detaches the programs; the maps go with the last
  // reference.
  auto removed = std::filesystem::remove_all(options.pin_dir, ec);
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
