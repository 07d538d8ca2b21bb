// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "daemon/daemon.hpp"

#include <csignal>
#include <future>
#include <grp.h>
#include <linux/magic.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sys/statfs.h>
#include <systemd/sd-daemon.h>
#include <thread>
#include <unistd.h>

#include "api/api_server.hpp"
#include "api/denied_followers.hpp"
#include "api/metrics_server.hpp"
#include "daemon/interfaces.hpp"
#include "datapath/data_path.hpp"
#include "datapath/denied_events.hpp"
#include "datapath/kernel.hpp"
#include "datapath/pin_owner.hpp"
#include "links/link_watcher.hpp"
#include "list/list_service.hpp"
#include "model/clock.hpp"
#include "store/etcd_store.hpp"
#include "store/sqlite_store.hpp"

namespace xdpgate {

namespace {

FilterSettings filter_settings(const Config &config) {
  return {config.exempt_tcp_ports,    config.exempt_udp_ports,
          config.exempt_sources,      config.protected_tcp_ports,
          config.protected_udp_ports, config.denied_sample_rate};
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

// Everything the running daemon owns, in construction order.
class Daemon {
public:
  Daemon(const DaemonOptions &options, Config config, DataPath path)
      : options_(options), config_(std::move(config)),
        kernel_(std::move(path), filter_settings(config_)),
        interfaces_(kernel_.data_path(), options.pin_dir, config_.attach_mode),
        followers_([this](bool on) { follow_in_kernel(on); }) {}

  // `stored`: what ListService::read() found in `store`.
  Status start(std::unique_ptr<Store> store, ListService::Stored stored) {
    auto service = ListService::open(std::move(store), std::move(stored),
                                     kernel_, now_epoch_ms);
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
    if (Status s =
            kernel_.set_follow_budget(config_.denied_follow_events_per_second);
        !s)
      return s;
    auto reader = DeniedEventReader::start(
        kernel_.data_path().denied_events_fd(),
        [this](const DeniedEvent &event) { publish(event); },
        [](const Error &e) { spdlog::error("{}", e.message); });
    if (!reader)
      return reader.error();
    reader_ = std::move(reader.value());

    api::ApiBackend backend{*list_,
                            [this] { return interfaces_.status(); },
                            [this] { return exemptions(kernel_.settings()); },
                            [this] { return scope(kernel_.settings()); },
                            [this](std::size_t top) {
                              return interfaces_.denied(
                                  top, kernel_.settings().denied_sample_rate);
                            },
                            [this] { return kernel_.last_sync_at(); },
                            [this] { return interfaces_.recently_denied(); },
                            &followers_};
    api::ApiServerOptions api_options;
    api_options.socket_path = config_.socket;
    api_options.access = {group_id(config_.write_group),
                          group_id(config_.read_group), config_.write_group,
                          config_.read_group};
    if (config_.metrics_address) {
      auto metrics =
          api::MetricsServer::start(*config_.metrics_address, backend);
      if (!metrics)
        return metrics.error();
      metrics_ = std::move(metrics.value());
      spdlog::info("serving GET /metrics on {}",
                   config_.metrics_address->to_string());
    }
    auto api = api::ApiServer::start(api_options, std::move(backend));
    if (!api)
      return api.error();
    api_ = std::move(api.value());
    if (config_.store == Config::StoreKind::Etcd)
      follower_ = std::thread([this] { follow_store(); });
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
        next->capacity != config_.capacity ||
        next->metrics_address != config_.metrics_address)
      spdlog::warn("socket, state_dir, capacity and metrics_address take "
                   "effect only after a restart of xdpgated");
    if (Status s = kernel_.reconfigure(filter_settings(*next)); !s)
      spdlog::error("applying the reloaded configuration failed: {}",
                    s.error().message);
    if (Status s =
            kernel_.set_follow_budget(next->denied_follow_events_per_second);
        !s)
      spdlog::error("applying denied_follow_events_per_second failed: {}",
                    s.error().message);
    interfaces_.configure(next->interfaces);
    spdlog::info("configuration reloaded");
  }

  // Followers' streams end first, so the API's stop does not wait on them.
  void stop() {
    following_ = false;
    if (follower_.joinable())
      follower_.join();
    links_.reset();
    followers_.close();
    if (api_)
      api_->stop();
    if (metrics_)
      metrics_->stop();
    reader_.reset();
  }

private:
  // What other hosts of the fleet write reaches this kernel from here.
  void follow_store() {
    std::string failing; // log a failure once, not every round
    while (following_) {
      Status s = list_->follow_store(std::chrono::milliseconds(200));
      if (!s && s.error().message != failing)
        spdlog::error("applying the fleet's changes: {}", s.error().message);
      failing = s ? "" : s.error().message;
    }
  }

  void follow_in_kernel(bool on) {
    if (Status s = kernel_.set_following(on); !s)
      spdlog::error("{} following denied packets failed: {}",
                    on ? "starting" : "stopping", s.error().message);
  }

  // On the reader's thread: names the interface, hands it to the followers.
  void publish(const DeniedEvent &event) {
    DeniedEvent named = event;
    char name[IF_NAMESIZE] = {};
    named.interface = if_indextoname(event.ifindex, name)
                          ? name
                          : "ifindex " + std::to_string(event.ifindex);
    followers_.publish(named);
  }

  static nlohmann::json exemptions(const FilterSettings &settings) {
    nlohmann::json sources = nlohmann::json::array();
    for (const IpPrefix &p : settings.exempt_sources)
      sources.push_back(p.to_string());
    return {{"tcp_ports", settings.exempt_tcp_ports},
            {"udp_ports", settings.exempt_udp_ports},
            {"sources", sources}};
  }

  static nlohmann::json scope(const FilterSettings &settings) {
    return {{"protected_tcp_ports", settings.protected_tcp_ports},
            {"protected_udp_ports", settings.protected_udp_ports}};
  }

  const DaemonOptions &options_;
  const Config config_; // as started; reload() changes only the kernel's part
  Kernel kernel_;
  Interfaces interfaces_;
  // Before the API, whose streams hold followers, and the reader, which
  // publishes to them: destroyed after both.
  api::DeniedFollowers followers_;
  std::unique_ptr<DeniedEventReader> reader_;
  std::unique_ptr<ListService> list_;
  std::unique_ptr<LinkWatcher> links_;
  std::unique_ptr<api::ApiServer> api_;
  std::unique_ptr<api::MetricsServer> metrics_;
  std::atomic<bool> following_{true};
  std::thread follower_; // with a shared store: applies others' changes
};

Result<std::unique_ptr<Store>> open_store(const Config &config) {
  if (config.store == Config::StoreKind::Sqlite) {
    auto store = SqliteStore::open(config.state_dir);
    if (!store)
      return store.error();
    return std::unique_ptr<Store>(
        std::make_unique<SqliteStore>(std::move(*store)));
  }
  EtcdStoreOptions options;
  options.etcd.endpoints = config.etcd.endpoints;
  options.etcd.cacert = config.etcd.cacert;
  options.etcd.cert = config.etcd.cert;
  options.etcd.key = config.etcd.key;
  options.prefix = config.etcd.prefix;
  options.state_dir = config.state_dir;
  options.host_name = config.etcd.host_name;
  if (options.host_name.empty()) {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    options.host_name = name;
  }
  auto store = EtcdStore::open(std::move(options));
  if (!store)
    return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

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
  auto store = open_store(*config);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  // The pin directory is claimed for the state directory (which the store
  // made) before anything is loaded or pinned, so a daemon refused here
  // leaves another's pins as they are. Held until this one exits.
  auto owner = PinOwner::claim(options.pin_dir, config->state_dir);
  if (!owner) {
    spdlog::error("{}", owner.error().message);
    return 1;
  }
  if (owner->adopted())
    spdlog::info("adopting the pins in {}, which no owner record claimed "
                 "(an older xdpgated's)",
                 options.pin_dir.string());
  // The stored list is read while the data path loads (and reads what its
  // pinned tables hold): on two CPUs a start with a million entries takes
  // the longer of the two, not their sum.
  auto reading = std::async(std::launch::async,
                            [&store] { return ListService::read(**store); });
  DataPathOptions path_options;
  path_options.capacity = config->capacity;
  path_options.pin_dir = options.pin_dir;
  auto path = DataPath::load(path_options);
  Result<ListService::Stored> stored = reading.get();
  if (!path) {
    spdlog::error("{}", path.error().message);
    return 1;
  }
  if (!stored) {
    spdlog::error("{}", stored.error().message);
    return 1;
  }

  Daemon daemon(options, std::move(config.value()), std::move(path.value()));
  if (Status s = daemon.start(std::move(*store), std::move(stored.value()));
      !s) {
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

} // namespace xdpgate
