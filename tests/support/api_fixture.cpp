// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "support/api_fixture.hpp"

#include <cstdlib>
#include <set>
#include <sys/stat.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/entry_json.hpp"
#include "store/sqlite_store.hpp"

namespace xdpgate::test {

using nlohmann::json;

TempDir::TempDir(const std::string &prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(pattern.data()))
    std::abort(); // /tmp unusable: nothing sensible can follow
  path_ = pattern;
  ::chmod(path_.c_str(), 0711);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

InProcessApi::InProcessApi(std::filesystem::path dir)
    : dir_(std::move(dir)), socket_(dir_ / "run" / "xdpgate.sock") {}

InProcessApi::~InProcessApi() {
  server_.reset();
  service_.reset();
}

Status InProcessApi::start(api::ApiServerOptions options) {
  server_.reset();
  service_.reset();
  auto store = SqliteStore::open(dir_ / "state");
  if (!store)
    return store.error();
  auto service =
      ListService::open(std::make_unique<SqliteStore>(std::move(*store)),
                        kernel_, [this] { return now.load(); });
  if (!service)
    return service.error();
  service_ = std::move(*service);
  options.socket_path = socket_;
  auto server = api::ApiServer::start(options, backend());
  if (!server)
    return server.error();
  server_ = std::move(*server);
  return {};
}

void InProcessApi::stop_server() { server_.reset(); }

api::ApiBackend InProcessApi::backend() {
  api::ApiBackend backend{*service_};
  backend.interfaces = [] {
    return json::array({{{"name", "eth1"},
                         {"state", "attached"},
                         {"attach_mode", "native"},
                         {"program_id", 42},
                         {"counters",
                          {{"allowed", {{"packets", 10}, {"bytes", 1000}}},
                           {"dropped", {{"packets", 3}, {"bytes", 180}}}}}},
                        {{"name", "eth2"},
                         {"state", "waiting"},
                         {"attach_mode", nullptr},
                         {"program_id", nullptr},
                         {"counters", json::object()}}});
  };
  backend.exemptions = [] {
    return json{{"tcp_ports", {10943}},
                {"udp_ports", json::array()},
                {"sources", {"192.0.2.0/28"}}};
  };
  backend.scope = [] {
    return json{{"protected_tcp_ports", {22}},
                {"protected_udp_ports", json::array()}};
  };
  backend.denied = [this](std::size_t top) {
    denied_top = top;
    return json{{"interfaces",
                 {{{"name", "eth1"},
                   {"sources",
                    {{{"address", "198.51.100.9"},
                      {"packets", 5},
                      {"estimated", false},
                      {"sample_rate", 64},
                      {"last_seen_at", kApiStart}}}}}}}};
  };
  backend.last_sync_at = [] { return std::optional<EpochMs>(kApiStart); };
  backend.recently_denied = [] {
    return std::vector<SeenSource>{
        {*IpPrefix::parse_address("198.51.100.9"), 5, kApiStart}};
  };
  backend.denied_followers = &denied_followers;
  return backend;
}

std::string InProcessApi::snapshot() const {
  json s = json::object();
  s["state"] = to_json(service_->state());
  json items = json::array();
  for (const EntryView &view : service_->list(true))
    items.push_back(to_json(view.entry));
  s["items"] = std::move(items);
  auto audit = service_->audit(0, 1);
  s["audit_total"] = audit ? audit->total : -1;
  return s.dump();
}

std::optional<std::string> InProcessApi::kernel_mismatch() const {
  KernelState kernel = kernel_.state();
  std::set<IpPrefix> enabled;
  for (const EntryView &view : service_->list(true))
    if (view.entry.enabled)
      enabled.insert(view.entry.range);
  std::set<IpPrefix> in_kernel(kernel.allow.begin(), kernel.allow.end());
  if (in_kernel != enabled)
    return "the kernel does not hold the store's enabled entries";
  if (kernel.mode != service_->state().mode)
    return "the kernel runs another mode than the store's";
  return std::nullopt;
}

} // namespace xdpgate::test
