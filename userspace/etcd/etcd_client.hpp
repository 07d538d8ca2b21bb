// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A client of etcd's v3 API through its JSON gateway, over libcurl: reads,
// transactions, leases and watches. Several endpoints fail over: a request
// goes to the endpoint that answered last, and to the next ones in turn
// when it cannot be reached. An endpoint that answers, even with an error,
// is reached: only transport failures fail over. Every request is bounded
// by Options::request_timeout; a watch by nothing but stop().
//
// Requests are thread-safe (serialised on one connection, which stays
// open between them); a Watch has a connection of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "etcd/etcd_types.hpp"

namespace xdpgate::etcd {

class Client {
public:
  // Checks the options (an endpoint is http:// or https://; TLS files are
  // readable); does not connect.
  static Result<std::unique_ptr<Client>> open(Options options);
  ~Client();

  Result<RangeResult> range(const Range &range);
  Result<TxnResult> txn(const Txn &txn);
  Result<std::int64_t> lease_grant(std::chrono::seconds ttl);
  // The lease's remaining TTL in seconds; 0: it has expired.
  Result<std::int64_t> lease_keep_alive(std::int64_t lease);
  Status lease_revoke(std::int64_t lease);
  // Forgets the history before `revision` (what etcd's auto-compaction
  // does; tests use it to make a watch fall behind).
  Status compact(std::int64_t revision);

  // The endpoint the last request reached.
  std::string endpoint() const;
  const Options &options() const { return options_; }

  class Watch;
  // Watches [key, range_end) from `start_revision` (0: from now) on a
  // connection of its own. The first endpoint that accepts it serves it.
  Result<std::unique_ptr<Watch>> watch(const std::string &key,
                                       const std::string &range_end,
                                       std::int64_t start_revision);

  struct Connection; // etcd_client.cpp: a libcurl handle and its settings

private:
  explicit Client(Options options);
  // POSTs `body` to `path` on the current endpoint, failing over; returns
  // the HTTP status and body.
  struct Answer {
    int status = 0;
    std::string body;
  };
  Result<Answer> post(const char *path, const std::string &body);

  Options options_;
  mutable std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
  std::atomic<std::size_t> current_{0}; // index into options_.endpoints
};

// A watch stream. next() waits for its next message; stop(), from any
// thread, ends a wait at once.
class Client::Watch {
public:
  ~Watch();
  // The next message: events, the compaction that ended the watch, ... An
  // error once the connection is lost (store_unavailable), etcd ended the
  // stream, or stop() was called. `wait` bounds the wait: a result with no
  // value (nullopt) means nothing came in that time.
  Result<std::optional<WatchMessage>> next(std::chrono::milliseconds wait);
  void stop();

  struct Stream; // etcd_client.cpp

private:
  friend class Client;
  explicit Watch(std::unique_ptr<Stream> stream);
  std::unique_ptr<Stream> stream_;
};

} // namespace xdpgate::etcd
