// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The fleet's hosts (etcd_store.hpp): each daemon's key under hosts/, on a
// lease it renews, with the revision it applied; and the fleet as etcd
// lists it.
#include <spdlog/spdlog.h>

#include "store/etcd_store.hpp"

namespace xdpgate {
namespace {

// A host's key outlives the daemon by at most this (its lease's TTL); the
// daemon renews the lease every kRenewEvery.
constexpr auto kHostTtl = std::chrono::seconds(10);
constexpr auto kRenewEvery = std::chrono::seconds(3);

} // namespace

Result<Fleet> EtcdStore::fleet() const {
  Result<etcd::RangeResult> head = client_->range({layout_.head()});
  if (!head)
    return head.error();
  Fleet fleet;
  if (!head->kvs.empty())
    fleet.revision = head->kvs[0].mod_revision;
  Result<etcd::RangeResult> hosts = client_->range(
      {layout_.hosts(), etcd::prefix_end(layout_.hosts()), head->revision});
  if (!hosts)
    return hosts.error();
  for (const etcd::KeyValue &kv : hosts->kvs) {
    const std::string name = kv.key.substr(layout_.hosts().size());
    Result<FleetHost> host = parse_host(name, kv.value);
    if (host)
      fleet.hosts.push_back(std::move(*host));
    else
      spdlog::error("ignoring etcd key {}: {}", kv.key, host.error().message);
  }
  return fleet;
}

void EtcdStore::keep_registered() {
  std::int64_t revision = 0;
  std::optional<EpochMs> at;
  {
    std::lock_guard lock(mutex_);
    revision = head_revision_;
    at = applied_at_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (lease_ && now - kept_alive_at_ >= kRenewEvery) {
    Result<std::int64_t> ttl = client_->lease_keep_alive(lease_);
    if (!ttl)
      return; // etcd is away: the watch's errors say so
    kept_alive_at_ = now;
    if (*ttl == 0)
      lease_ = 0; // expired while etcd or this daemon was away
  }
  if (!lease_) {
    Result<std::int64_t> granted = client_->lease_grant(kHostTtl);
    if (!granted)
      return;
    lease_ = *granted;
    kept_alive_at_ = now;
    published_revision_ = -1;
  }
  if (revision == published_revision_)
    return;
  Result<etcd::TxnResult> put =
      client_->txn({{},
                    {etcd::Put{layout_.host(options_.host_name),
                               host_value(revision, at), lease_}}});
  if (put)
    published_revision_ = revision;
}

} // namespace xdpgate
