// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// parse_config on arbitrary bytes. Properties: nothing crashes and no
// exception escapes; a rejection is an invalid_config error whose message
// starts "<file>:<line>: <key>: " when it names a key (a line inside the
// file), or "<file>:" for a syntax error; an accepted file holds only values
// the daemon can run on (interface names the kernel accepts, absolute paths
// that fit, group names, a capacity from 1 to 2^24, ports from 1 to 65535,
// canonical prefixes), and each of them is exactly what the file says.
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/toml.hpp"

namespace {

using xdpgate::Config;
using xdpgate::ErrorCode;
using xdpgate::IpPrefix;

constexpr std::string_view kSource = "fuzz.toml";

[[noreturn]] void fail(std::string_view input, const std::string &why) {
  std::fprintf(stderr, "config_fuzz: %s\n  input (%zu bytes): \"%.*s\"\n",
               why.c_str(), input.size(), static_cast<int>(input.size()),
               input.data());
  std::abort();
}

std::size_t count_lines(std::string_view text) {
  std::size_t lines = 1;
  for (char c : text)
    lines += c == '\n';
  return lines;
}

void check_rejection(std::string_view input, const xdpgate::Error &e) {
  if (e.code != ErrorCode::InvalidConfig)
    fail(input,
         "error code " + std::string(wire_name(e.code)) + ": " + e.message);
  std::string_view message = e.message;
  std::string prefix = std::string(kSource) + ":";
  if (!message.starts_with(prefix))
    fail(input, "message does not name the file: " + e.message);
  message.remove_prefix(prefix.size());
  std::size_t digits = 0;
  while (digits < message.size() && message[digits] >= '0' &&
         message[digits] <= '9')
    ++digits;
  if (digits == 0) {
    // Only a syntax error may lack a line, and then it names no key.
    if (!e.field.empty())
      fail(input, "key " + e.field + " named without a line: " + e.message);
    return;
  }
  std::size_t line =
      std::strtoul(std::string(message.substr(0, digits)).c_str(), nullptr, 10);
  if (line < 1 || line > count_lines(input))
    fail(input, "error on line " + std::to_string(line) + " of a " +
                    std::to_string(count_lines(input)) +
                    "-line file: " + e.message);
  message.remove_prefix(digits);
  if (!e.field.empty() && !message.starts_with(": " + e.field + ": "))
    fail(input, "message does not name the key " + e.field + ": " + e.message);
}

// What the daemon's parser accepted against what TOML itself reads there.
void expect_ports(std::string_view input, const toml::table &root,
                  std::string_view path,
                  const std::vector<std::uint16_t> &got) {
  const toml::node *node = root.at_path(path).node();
  if (node == nullptr)
    return;
  const toml::array *array = node->as_array();
  if (array == nullptr || array->size() != got.size())
    fail(input, std::string(path) + ": accepted something else than the file");
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto *value = array->get(i)->as_integer();
    if (value == nullptr || value->get() != got[i] || got[i] == 0)
      fail(input, std::string(path) + ": port " + std::to_string(got[i]) +
                      " is not what the file says");
  }
}

void expect_string(std::string_view input, const toml::table &root,
                   std::string_view key, const std::string &got) {
  const toml::node *node = root.get(key);
  if (node == nullptr)
    return;
  const auto *value = node->as_string();
  if (value == nullptr || value->get() != got)
    fail(input,
         std::string(key) + ": \"" + got + "\" is not what the file says");
}

bool valid_group(const std::string &name) {
  if (name.empty())
    return false;
  for (unsigned char c : name)
    if (c == ':' || c == '\0' || std::isspace(c))
      return false;
  return true;
}

void check_acceptance(std::string_view input, const Config &c) {
  toml::table root;
  try {
    root = toml::parse(input, kSource);
  } catch (const toml::parse_error &e) {
    fail(input, std::string("accepted a file TOML rejects: ") +
                    std::string(e.description()));
  }

  std::set<std::string> names;
  for (const std::string &name : c.interfaces) {
    if (name.empty() || name.size() > 15 || name == "." || name == ".." ||
        name.find_first_of("/: \t\n\r\f\v") != std::string::npos ||
        name.find('\0') != std::string::npos)
      fail(input, "accepted the interface name \"" + name + "\"");
    if (!names.insert(name).second)
      fail(input, "accepted \"" + name + "\" twice");
  }
  if (const auto *array = root["interfaces"].as_array()) {
    if (array->size() != c.interfaces.size())
      fail(input, "interfaces: not what the file says");
    for (std::size_t i = 0; i < c.interfaces.size(); ++i)
      if (array->get(i)->value<std::string>() != c.interfaces[i])
        fail(input, "interfaces: not what the file says");
  }

  if (c.socket.empty() || c.socket.native().front() != '/' ||
      c.socket.native().size() > 107)
    fail(input, "accepted the socket path " + c.socket.native());
  if (c.state_dir.empty() || c.state_dir.native().front() != '/' ||
      c.state_dir.native().size() >= PATH_MAX)
    fail(input, "accepted the state dir " + c.state_dir.native());
  expect_string(input, root, "socket", c.socket.native());
  expect_string(input, root, "state_dir", c.state_dir.native());
  expect_string(input, root, "attach_mode",
                std::string(xdpgate::to_string(c.attach_mode)));

  if (!valid_group(c.write_group) || !valid_group(c.read_group))
    fail(input, "accepted the groups \"" + c.write_group + "\", \"" +
                    c.read_group + "\"");
  expect_string(input, root, "write_group", c.write_group);
  expect_string(input, root, "read_group", c.read_group);

  if (c.capacity < 1 || c.capacity > 16777216)
    fail(input, "accepted the capacity " + std::to_string(c.capacity));
  if (auto capacity = root["capacity"].value<std::int64_t>();
      capacity && *capacity != c.capacity)
    fail(input, "capacity: not what the file says");

  expect_ports(input, root, "exempt.tcp_ports", c.exempt_tcp_ports);
  expect_ports(input, root, "exempt.udp_ports", c.exempt_udp_ports);
  expect_ports(input, root, "scope.protected_tcp_ports", c.protected_tcp_ports);
  expect_ports(input, root, "scope.protected_udp_ports", c.protected_udp_ports);
  for (auto *ports : {&c.exempt_tcp_ports, &c.exempt_udp_ports,
                      &c.protected_tcp_ports, &c.protected_udp_ports})
    for (std::uint16_t port : *ports)
      if (port == 0)
        fail(input, "accepted port 0");

  for (const IpPrefix &p : c.exempt_sources) {
    auto again = IpPrefix::parse(p.to_string());
    if (!again || !(*again == p))
      fail(input, "accepted a source that is not canonical: " + p.to_string());
  }
  if (const auto *array = root.at_path("exempt.sources").as_array()) {
    if (array->size() != c.exempt_sources.size())
      fail(input, "exempt.sources: not what the file says");
    for (std::size_t i = 0; i < c.exempt_sources.size(); ++i) {
      auto text = array->get(i)->value<std::string>();
      if (!text)
        fail(input, "exempt.sources: accepted a value that is not a string");
      auto parsed = IpPrefix::parse(*text);
      if (!parsed || !(*parsed == c.exempt_sources[i]))
        fail(input, "exempt.sources: not what the file says");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  auto config = xdpgate::parse_config(input, kSource);
  if (!config)
    check_rejection(input, config.error());
  else
    check_acceptance(input, *config);
  return 0;
}
