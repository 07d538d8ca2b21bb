// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The readers of the configuration file's values, one per kind of value:
// each checks what a key holds and fails with an error that names the key,
// its line, what was expected and what was written. Private to
// userspace/config/ (config.cpp applies them to the keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/toml.hpp"
#include "model/attach_mode.hpp"
#include "net/ip_prefix.hpp"
#include "net/tcp_address.hpp"

namespace xdpgate::config_values {

inline constexpr ErrorCode kCode = ErrorCode::InvalidConfig;

// "FILE:LINE: " of a place in the file.
std::string located(std::string_view source, const toml::source_region &at);

// The key being parsed, so every error names it and its line.
struct Where {
  std::string_view source;
  std::string key;

  Error fail(const toml::node &at, std::string_view expected) const;
  Error fail_at(const toml::source_region &at, const std::string &what) const;
};

template <typename T, typename U> Status assign(T &target, Result<U> parsed) {
  if (!parsed)
    return parsed.error();
  target = std::move(parsed).value();
  return {};
}

Result<std::vector<std::string>> interfaces(const Where &w,
                                            const toml::node &node);
Result<AttachMode> attach_mode(const Where &w, const toml::node &node);
Result<std::filesystem::path>
absolute_path(const Where &w, const toml::node &node, std::size_t max_size);
// An absolute path, or "" for none.
Result<std::filesystem::path> optional_file(const Where &w,
                                            const toml::node &node);
Result<std::string> group_name(const Where &w, const toml::node &node);
// A count from 1 to `max` (a power of two, when `power_of_two`).
Result<std::uint32_t> count_in(const Where &w, const toml::node &node,
                               std::int64_t max, std::string_view expected,
                               bool power_of_two = false);
// "" (the default) for none.
Result<std::optional<TcpAddress>> tcp_address(const Where &w,
                                              const toml::node &node);
Result<std::vector<std::uint16_t>> ports(const Where &w,
                                         const toml::node &node);
Result<std::vector<IpPrefix>> sources(const Where &w, const toml::node &node);
// "sqlite" or "etcd".
Result<bool> store_is_etcd(const Where &w, const toml::node &node);
// etcd endpoints: URLs with http:// or https://, host and port.
Result<std::vector<std::string>> endpoints(const Where &w,
                                           const toml::node &node);
// A key prefix: starts and ends with '/'.
Result<std::string> key_prefix(const Where &w, const toml::node &node);
// A host's name in the fleet: letters, digits, '.', '-', '_'; "" for the
// host's own.
Result<std::string> host_name(const Where &w, const toml::node &node);

} // namespace xdpgate::config_values
