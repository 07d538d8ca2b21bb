// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// GET /denied?follow=true: the live view of denied packets, streamed as
// JSON lines (chunked), one per packet the kernel let through its budget,
// and a line for the events this follower lost since the last such line.
#include <chrono>
#include <netinet/in.h>

#include "api/denied_followers.hpp"
#include "api/responses.hpp"
#include "api/routes.hpp"
#include "model/verdicts.hpp"

namespace xdpgate::api {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long a follower waits for events before it checks on its client.
constexpr std::chrono::milliseconds kTakeWait{200};
// Losses are told at most this often.
constexpr std::chrono::seconds kLostEvery{1};

json protocol_json(std::uint8_t protocol) {
  switch (protocol) {
  case IPPROTO_TCP:
    return "tcp";
  case IPPROTO_UDP:
    return "udp";
  case IPPROTO_ICMP:
    return "icmp";
  case IPPROTO_ICMPV6:
    return "icmpv6";
  default:
    return protocol;
  }
}

} // namespace

json denied_event_json(const DeniedEvent &e) {
  return {{"interface", e.interface},
          {"address", e.address.to_string()},
          {"verdict", std::string(kVerdictNames[e.verdict])},
          {"protocol", protocol_json(e.protocol)},
          {"dest_port", e.dest_port ? json(*e.dest_port) : json(nullptr)},
          {"at", e.at}};
}

void follow_denied(const ApiBackend &b, const Call &, Response &res) {
  std::shared_ptr<DeniedFollower> follower =
      b.denied_followers ? b.denied_followers->follow() : nullptr;
  if (!follower)
    return send_error(res, {ErrorCode::KernelReadFailed,
                            "the live view of denied packets is not "
                            "available (the daemon is stopping)"});
  res.status = 200;
  res.content_type = "application/x-ndjson";
  res.headers.add("Cache-Control", "no-store");
  res.stream = [follower](ChunkSink &sink) {
    std::uint64_t lost = 0;
    Clock::time_point lost_told = Clock::now();
    while (sink.open()) {
      FollowBatch batch = follower->take(kTakeWait);
      std::string lines;
      for (const DeniedEvent &e : batch.events)
        lines += denied_event_json(e).dump() + "\n";
      lost += batch.lost;
      if (lost > 0 &&
          (batch.closed || Clock::now() - lost_told >= kLostEvery)) {
        lines += json{{"lost", lost}}.dump() + "\n";
        lost = 0;
        lost_told = Clock::now();
      }
      if (!sink.write(lines) || batch.closed)
        return;
    }
  };
}

} // namespace xdpgate::api
