// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "config/config_values.hpp"

#include <net/if.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <sstream>

namespace xdpgate::config_values {

namespace {

// How a value appears in an error: the operator should recognise what they
// wrote.
std::string describe(const toml::node &node) {
  if (const auto *s = node.as_string())
    return "\"" + s->get() + "\"";
  if (const auto *i = node.as_integer())
    return std::to_string(i->get());
  if (const auto *f = node.as_floating_point()) {
    std::ostringstream out;
    out << "the float " << f->get();
    return out.str();
  }
  if (const auto *b = node.as_boolean())
    return b->get() ? "true" : "false";
  if (node.is_array())
    return "an array";
  if (node.is_table())
    return "a table";
  return "a date or time";
}

Result<std::string> string_value(const Where &w, const toml::node &node,
                                 std::string_view expected) {
  const auto *s = node.as_string();
  if (s == nullptr)
    return w.fail(node, expected);
  return s->get();
}

// Linux dev_valid_name(): what the kernel accepts as an interface name.
bool valid_ifname(std::string_view name) {
  return !name.empty() && name.size() < IFNAMSIZ && name != "." &&
         name != ".." &&
         std::none_of(name.begin(), name.end(), [](unsigned char c) {
           return c == '/' || c == ':' || c == '\0' || std::isspace(c);
         });
}

} // namespace

std::string located(std::string_view source, const toml::source_region &at) {
  std::string out(source);
  if (at.begin.line != 0)
    out += ":" + std::to_string(at.begin.line);
  return out + ": ";
}

Error Where::fail(const toml::node &at, std::string_view expected) const {
  return fail_at(at.source(), std::string("expected ") + std::string(expected) +
                                  ", got " + describe(at));
}

Error Where::fail_at(const toml::source_region &at,
                     const std::string &what) const {
  return Error{kCode, located(source, at) + key + ": " + what, key};
}

Result<std::vector<std::string>> interfaces(const Where &w,
                                            const toml::node &node) {
  constexpr std::string_view kExpected =
      "an interface name (1 to 15 characters, no '/', ':' or whitespace)";
  const auto *array = node.as_array();
  if (array == nullptr)
    return w.fail(node, "an array of interface names");
  std::vector<std::string> names;
  for (const auto &element : *array) {
    auto name = string_value(w, element, kExpected);
    if (!name)
      return name.error();
    if (!valid_ifname(*name))
      return w.fail(element, kExpected);
    if (std::find(names.begin(), names.end(), *name) != names.end())
      return w.fail_at(element.source(), "\"" + *name + "\" is listed twice");
    names.push_back(std::move(*name));
  }
  return names;
}

Result<AttachMode> attach_mode(const Where &w, const toml::node &node) {
  constexpr std::string_view kExpected = R"("auto", "native" or "generic")";
  auto text = string_value(w, node, kExpected);
  if (!text)
    return text.error();
  for (auto mode : {AttachMode::Auto, AttachMode::Native, AttachMode::Generic})
    if (*text == to_string(mode))
      return mode;
  return w.fail(node, kExpected);
}

Result<std::filesystem::path>
absolute_path(const Where &w, const toml::node &node, std::size_t max_size) {
  const std::string expected =
      "an absolute path of at most " + std::to_string(max_size) + " bytes";
  auto text = string_value(w, node, expected);
  if (!text)
    return text.error();
  if (text->empty() || text->front() != '/' || text->size() > max_size ||
      text->find('\0') != std::string::npos)
    return w.fail(node, expected);
  return std::filesystem::path(*text);
}

Result<std::filesystem::path> optional_file(const Where &w,
                                            const toml::node &node) {
  if (const auto *text = node.as_string(); text && text->get().empty())
    return std::filesystem::path();
  return absolute_path(w, node, PATH_MAX - 1);
}

Result<std::string> group_name(const Where &w, const toml::node &node) {
  constexpr std::string_view kExpected =
      "a group name (non-empty, no ':' or whitespace)";
  auto text = string_value(w, node, kExpected);
  if (!text)
    return text.error();
  if (text->empty() ||
      std::any_of(text->begin(), text->end(), [](unsigned char c) {
        return c == ':' || c == '\0' || std::isspace(c);
      }))
    return w.fail(node, kExpected);
  return text;
}

Result<std::uint32_t> count_in(const Where &w, const toml::node &node,
                               std::int64_t max, std::string_view expected,
                               bool power_of_two) {
  const auto *i = node.as_integer();
  if (i == nullptr || i->get() < 1 || i->get() > max ||
      (power_of_two && (i->get() & (i->get() - 1)) != 0))
    return w.fail(node, expected);
  return static_cast<std::uint32_t>(i->get());
}

Result<std::optional<TcpAddress>> tcp_address(const Where &w,
                                              const toml::node &node) {
  constexpr std::string_view kExpected =
      "an IP address and a port, as in \"127.0.0.1:9433\" or "
      "\"[::1]:9433\" (or \"\" for none)";
  auto text = string_value(w, node, kExpected);
  if (!text)
    return text.error();
  if (text->empty())
    return std::optional<TcpAddress>();
  auto address = TcpAddress::parse(*text);
  if (!address)
    return w.fail_at(node.source(),
                     address.error().message + ", got \"" + *text + "\"");
  return std::optional<TcpAddress>(*address);
}

Result<std::vector<std::uint16_t>> ports(const Where &w,
                                         const toml::node &node) {
  constexpr std::string_view kExpected = "a port number from 1 to 65535";
  const auto *array = node.as_array();
  if (array == nullptr)
    return w.fail(node, "an array of port numbers (1 to 65535)");
  std::vector<std::uint16_t> out;
  for (const auto &element : *array) {
    const auto *i = element.as_integer();
    if (i == nullptr || i->get() < 1 || i->get() > 65535)
      return w.fail(element, kExpected);
    out.push_back(static_cast<std::uint16_t>(i->get()));
  }
  return out;
}

Result<std::vector<IpPrefix>> sources(const Where &w, const toml::node &node) {
  constexpr std::string_view kExpected = "an IPv4 or IPv6 address or CIDR";
  const auto *array = node.as_array();
  if (array == nullptr)
    return w.fail(node, "an array of CIDRs");
  std::vector<IpPrefix> out;
  for (const auto &element : *array) {
    auto text = string_value(w, element, kExpected);
    if (!text)
      return text.error();
    auto prefix = IpPrefix::parse(*text, w.key);
    if (!prefix) {
      // The parser names the key too; the message says it once.
      std::string why = prefix.error().message;
      if (why.starts_with(w.key + " "))
        why.erase(0, w.key.size() + 1);
      return w.fail_at(element.source(), why);
    }
    out.push_back(*prefix);
  }
  return out;
}

Result<bool> store_is_etcd(const Where &w, const toml::node &node) {
  constexpr std::string_view kExpected = R"("sqlite" or "etcd")";
  auto text = string_value(w, node, kExpected);
  if (!text)
    return text.error();
  if (*text != "sqlite" && *text != "etcd")
    return w.fail(node, kExpected);
  return *text == "etcd";
}

Result<std::vector<std::string>> endpoints(const Where &w,
                                           const toml::node &node) {
  constexpr std::string_view kExpected =
      "an etcd endpoint, such as \"https://198.18.0.1:2379\"";
  const auto *array = node.as_array();
  if (array == nullptr)
    return w.fail(node, "an array of etcd endpoints");
  std::vector<std::string> out;
  for (const auto &element : *array) {
    auto url = string_value(w, element, kExpected);
    if (!url)
      return url.error();
    const std::size_t scheme = url->rfind("https://", 0) == 0  ? 8
                               : url->rfind("http://", 0) == 0 ? 7
                                                               : 0;
    if (!scheme || url->size() == scheme ||
        std::any_of(url->begin(), url->end(),
                    [](unsigned char c) { return std::isspace(c); }))
      return w.fail(element, kExpected);
    out.push_back(std::move(*url));
  }
  return out;
}

Result<std::string> key_prefix(const Where &w, const toml::node &node) {
  constexpr std::string_view kExpected =
      "a key prefix that starts and ends with '/', such as \"/xdpgate/prod/\"";
  auto text = string_value(w, node, kExpected);
  if (!text)
    return text.error();
  if (text->size() < 2 || text->front() != '/' || text->back() != '/')
    return w.fail(node, kExpected);
  return text;
}

Result<std::string> host_name(const Where &w, const toml::node &node) {
  constexpr std::string_view kExpected =
      "a host name of letters, digits, '.', '-' and '_' (at most 64), or "
      "\"\" for the host's own";
  auto text = string_value(w, node, kExpected);
  if (!text)
    return text.error();
  if (text->size() > 64 ||
      !std::all_of(text->begin(), text->end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-' || c == '_';
      }))
    return w.fail(node, kExpected);
  return text;
}

} // namespace xdpgate::config_values
