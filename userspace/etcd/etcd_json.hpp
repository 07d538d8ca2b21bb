// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// etcd's JSON gateway (the v3 API over HTTP, as etcd 3.4 serves it at
// /v3/...): requests as the JSON bodies it takes, and its answers read back
// into etcd_types.hpp. The gateway writes keys and values in base64 and
// 64-bit numbers as strings, and leaves out every field that is zero, false
// or empty. Nothing here does I/O, so every shape is tested without etcd.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "etcd/etcd_types.hpp"

namespace xdpgate::etcd {

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding, as the gateway writes; anything else is
// an error.
Result<std::string> base64_decode(std::string_view text);

std::string range_request(const Range &range);
std::string txn_request(const Txn &txn);
std::string watch_request(const std::string &key, const std::string &range_end,
                          std::int64_t start_revision);
std::string lease_grant_request(std::int64_t ttl_seconds);
std::string lease_id_request(std::int64_t lease);
std::string compaction_request(std::int64_t revision);

// An answer of the gateway: `body` with HTTP `status`. A gateway error
// ({"error", "code"}) becomes an Error with etcd's own message:
// store_compacted when etcd no longer holds the revision asked for,
// store_failed otherwise.
Result<RangeResult> parse_range(int status, std::string_view body);
Result<TxnResult> parse_txn(int status, std::string_view body);
// The store's revision after a write that answers only a header (a
// compaction, a lease's revocation).
Result<std::int64_t> parse_header_revision(int status, std::string_view body);
struct LeaseGrant {
  std::int64_t id = 0;
  std::int64_t ttl_seconds = 0;
};
Result<LeaseGrant> parse_lease_grant(int status, std::string_view body);
// A keep-alive's answer: the lease's remaining TTL; 0 once it has expired.
Result<std::int64_t> parse_lease_keep_alive(int status, std::string_view body);
// One line of the watch stream: {"result": WatchResponse} or an error.
Result<WatchMessage> parse_watch_line(std::string_view line);

// The watch stream is one JSON object per line, and the network cuts it
// anywhere: feed() takes the bytes as they come and hands out whole lines.
class LineFraming {
public:
  // Calls `line` with each line `bytes` completes, without its newline.
  template <typename F> void feed(std::string_view bytes, F &&line) {
    buffered_.append(bytes);
    std::size_t start = 0;
    for (std::size_t end;
         (end = buffered_.find('\n', start)) != std::string::npos;
         start = end + 1)
      if (end > start)
        line(std::string_view(buffered_).substr(start, end - start));
    buffered_.erase(0, start);
  }
  // Bytes of a line not yet ended.
  std::size_t pending() const { return buffered_.size(); }

private:
  std::string buffered_;
};

} // namespace xdpgate::etcd
