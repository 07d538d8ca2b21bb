// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/denied_events.hpp"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>

#include "model/clock.hpp"

namespace xdpgate {

std::optional<DeniedEvent> decode_denied_event(const void *data,
                                               std::size_t size) {
  xdpgate_denied_event raw{};
  if (size < sizeof(raw))
    return std::nullopt;
  std::memcpy(&raw, data, sizeof(raw));
  if ((raw.family != 4 && raw.family != 6) ||
      (raw.verdict != XDPGATE_VERDICT_DROPPED &&
       raw.verdict != XDPGATE_VERDICT_WOULD_DROP))
    return std::nullopt;
  DeniedEvent event;
  event.ifindex = raw.ifindex;
  event.address.family = raw.family == 4 ? Family::V4 : Family::V6;
  event.address.length = event.address.max_length();
  std::memcpy(event.address.addr.data(), raw.addr, raw.family == 4 ? 4 : 16);
  event.verdict = static_cast<xdpgate_verdict>(raw.verdict);
  event.protocol = raw.protocol;
  if (raw.has_port)
    event.dest_port = raw.dest_port;
  event.at = monotonic_ns_to_epoch_ms(raw.at_ns);
  return event;
}

DeniedEventReader::DeniedEventReader(Sink sink, ErrorSink on_error,
                                     std::chrono::milliseconds poll_timeout)
    : sink_(std::move(sink)), on_error_(std::move(on_error)),
      poll_timeout_(poll_timeout) {}

Result<std::unique_ptr<DeniedEventReader>>
DeniedEventReader::start(int ring_fd, Sink sink, ErrorSink on_error,
                         std::chrono::milliseconds poll_timeout) {
  std::unique_ptr<DeniedEventReader> reader(new DeniedEventReader(
      std::move(sink), std::move(on_error), poll_timeout));
  reader->ring_ = ring_buffer__new(ring_fd, &DeniedEventReader::on_sample,
                                   reader.get(), nullptr);
  if (!reader->ring_)
    return system_error(ErrorCode::KernelReadFailed,
                        "opening the denied-events ring buffer failed", errno);
  reader->thread_ = std::thread([r = reader.get()] { r->run(); });
  return reader;
}

DeniedEventReader::~DeniedEventReader() {
  stopping_ = true;
  if (thread_.joinable())
    thread_.join();
  ring_buffer__free(ring_);
}

int DeniedEventReader::on_sample(void *self, void *data, std::size_t size) {
  auto *reader = static_cast<DeniedEventReader *>(self);
  if (std::optional<DeniedEvent> event = decode_denied_event(data, size))
    reader->sink_(*event);
  // Non-zero would stop the poll: a stop request ends it between events.
  return reader->stopping_ ? -ECANCELED : 0;
}

void DeniedEventReader::run() {
  const int timeout = static_cast<int>(poll_timeout_.count());
  while (!stopping_) {
    int n = ring_buffer__poll(ring_, timeout);
    if (n < 0 && n != -EINTR && n != -ECANCELED) {
      if (on_error_)
        on_error_(system_error(ErrorCode::KernelReadFailed,
                               "reading the denied-events ring buffer "
                               "failed; following denied packets stopped",
                               -n));
      return;
    }
  }
}

} // namespace xdpgate
