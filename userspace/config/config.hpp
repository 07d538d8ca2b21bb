// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The daemon's configuration (SPEC §5), read from TOML. A default-constructed
// Config holds the safe defaults the daemon runs on without a file. Parsing
// accepts exactly the documented keys: an unknown key, a wrong type or an
// out-of-range value is an Error with code "invalid_config", the dotted key
// as field, and a message "<file>:<line>: <key>: expected …, got …".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "model/attach_mode.hpp"
#include "net/ip_prefix.hpp"
#include "net/tcp_address.hpp"

namespace xdpgate {

inline constexpr std::string_view kDefaultConfigPath =
    "/etc/xdpgate/xdpgate.toml";

struct Config {
  std::vector<std::string> interfaces;
  AttachMode attach_mode = AttachMode::Auto;
  std::filesystem::path socket = "/run/xdpgate/xdpgate.sock";
  std::filesystem::path state_dir = "/var/lib/xdpgate";
  std::string write_group = "xdpgate";
  std::string read_group = "xdpgate-read";
  std::uint32_t capacity = 1048576; // entries per address family
  // Where GET /metrics is served over TCP for Prometheus; none: nowhere.
  std::optional<TcpAddress> metrics_address;
  // Past a denied source's exact counts (and past the insert budget), 1 in
  // this many packets is counted, weighted; a power of two, 1: every packet.
  std::uint32_t denied_sample_rate = 64;
  // The live view of denied packets: at most this many events a second
  // from the kernel, shared out among the CPUs.
  std::uint32_t denied_follow_events_per_second = 1000;
  std::vector<std::uint16_t> exempt_tcp_ports = {10943}; // polling tentacles
  std::vector<std::uint16_t> exempt_udp_ports;
  std::vector<IpPrefix> exempt_sources;
  // Empty: every destination port is protected.
  std::vector<std::uint16_t> protected_tcp_ports;
  std::vector<std::uint16_t> protected_udp_ports;

  // Where the list is kept (SPEC §7): this host's SQLite file in
  // state_dir, or the fleet's etcd (the [etcd] table).
  enum class StoreKind { Sqlite, Etcd };
  StoreKind store = StoreKind::Sqlite;
  struct Etcd {
    std::vector<std::string> endpoints; // http:// or https://
    std::string prefix = "/xdpgate/";   // starts and ends with '/'
    std::filesystem::path cacert;       // TLS (optional)
    std::filesystem::path cert;
    std::filesystem::path key;
    std::string host_name; // empty: the host's name
    bool operator==(const Etcd &) const = default;
  } etcd;

  bool operator==(const Config &) const = default;
};

// Keys absent from the text keep their defaults. `source_name` (usually the
// file path) prefixes error messages.
Result<Config> parse_config(std::string_view toml_text,
                            std::string_view source_name);

// Every key parse_config accepts, from the tables it parses with, in their
// order; a key of a table is dotted ("exempt.tcp_ports"). The manual
// xdpgate.toml(5) is checked against this list.
std::vector<std::string> config_keys();

// A missing file at the default path yields the defaults; a missing file at a
// path the operator gave explicitly is an error.
Result<Config> load_config(const std::filesystem::path &path,
                           bool path_was_given);

} // namespace xdpgate
