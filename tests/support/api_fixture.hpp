// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The control API in one process, as the API tests and the HTTP fuzz target
// drive it: a real Store in a temporary directory, a ListService over a fake
// kernel with a clock the test moves, and a real ApiServer on a Unix socket
// in that directory. No GoogleTest in here: the fuzz targets link it too.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/api_server.hpp"
#include "common/result.hpp"
#include "list/list_service.hpp"
#include "support/kernel_model.hpp"

namespace xdpgate::test {

// The fake clock's start (2025-11-23), in milliseconds since the epoch.
inline constexpr EpochMs kApiStart = 1'763'880'000'000;

// A fresh directory, removed with everything in it. Others may traverse it,
// so that an unprivileged child can reach a socket inside.
class TempDir {
public:
  explicit TempDir(const std::string &prefix = "xdpgate-test");
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

// The backend's views of the data path are fixed fakes: interfaces eth1
// (attached, with counters) and eth2 (waiting), exemption 10943/tcp and
// 192.0.2.0/28, protected port 22/tcp, one denied source 198.51.100.9 (5
// packets, last seen at kApiStart) and the last sync at kApiStart.
class InProcessApi {
public:
  // The store lives in dir/state, the socket at dir/run/xdpgate.sock.
  explicit InProcessApi(std::filesystem::path dir);
  ~InProcessApi();
  InProcessApi(const InProcessApi &) = delete;
  InProcessApi &operator=(const InProcessApi &) = delete;

  // (Re)opens the store and the service, then starts the server with
  // `options` (its socket_path is set here).
  Status start(api::ApiServerOptions options = {});
  // Stops the server (and removes its socket); the service stays.
  void stop_server();

  ListService &service() { return *service_; }
  const ListService &service() const { return *service_; }
  ModelKernel &kernel() { return kernel_; }
  const std::filesystem::path &socket_path() const { return socket_; }
  // The backend the server was given, for starting a second server.
  api::ApiBackend backend();

  // Everything a rejected request must leave alone: the restriction state,
  // every entry (with its times and description) and the audit log's length,
  // as one comparable text.
  std::string snapshot() const;
  // Why the kernel does not hold exactly the store's enabled entries and
  // mode, or nullopt when it does.
  std::optional<std::string> kernel_mismatch() const;

  std::atomic<EpochMs> now{kApiStart};
  // The `top` the last GET /denied asked the backend for.
  std::atomic<std::size_t> denied_top{0};
  // The live view's fan-out (GET /denied?follow=true); `following` is what
  // the daemon would have the kernel do. A follower's queue holds 4 events.
  std::atomic<bool> following{false};
  api::DeniedFollowers denied_followers{[this](bool on) { following = on; }, 4};

private:
  std::filesystem::path dir_;
  std::filesystem::path socket_;
  ModelKernel kernel_;
  std::unique_ptr<ListService> service_;
  std::unique_ptr<api::ApiServer> server_;
};

} // namespace xdpgate::test
