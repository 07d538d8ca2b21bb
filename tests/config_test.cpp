// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

namespace xdpgate {
namespace {

void expect_defaults(const Config &c) {
  EXPECT_TRUE(c.interfaces.empty());
  EXPECT_EQ(c.attach_mode, AttachMode::Auto);
  EXPECT_EQ(c.socket, "/run/xdpgate/xdpgate.sock");
  EXPECT_EQ(c.state_dir, "/var/lib/xdpgate");
  EXPECT_EQ(c.write_group, "xdpgate");
  EXPECT_EQ(c.read_group, "xdpgate-read");
  EXPECT_EQ(c.capacity, 1048576u);
  EXPECT_FALSE(c.metrics_address);
  EXPECT_EQ(c.denied_sample_rate, 64u);
  EXPECT_EQ(c.denied_follow_events_per_second, 1000u);
  EXPECT_EQ(c.exempt_tcp_ports, std::vector<std::uint16_t>{10943});
  EXPECT_TRUE(c.exempt_udp_ports.empty());
  EXPECT_TRUE(c.exempt_sources.empty());
  EXPECT_TRUE(c.protected_tcp_ports.empty());
  EXPECT_TRUE(c.protected_udp_ports.empty());
}

IpPrefix prefix(std::string_view text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : IpPrefix{};
}

// A file in a fresh temporary directory, removed with it.
class ConfigFile {
public:
  ConfigFile() {
    char pattern[] = "/tmp/xdpgate-config-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~ConfigFile() { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string &text) const {
    auto path = dir_ / "xdpgate.toml";
    std::ofstream(path) << text;
    return path;
  }
  const std::filesystem::path &dir() const { return dir_; }

private:
  std::filesystem::path dir_;
};

TEST(Config, MissingFileAtTheDefaultPathGivesTheDefaults) {
  ConfigFile files;
  auto config = load_config(files.dir() / "absent.toml", false);
  ASSERT_TRUE(config.ok()) << config.error().message;
  expect_defaults(*config);
}

TEST(Config, MissingFileAtAGivenPathIsAnError) {
  ConfigFile files;
  auto path = files.dir() / "absent.toml";
  auto config = load_config(path, true);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::InvalidConfig);
  EXPECT_NE(config.error().message.find(path.string()), std::string::npos);
  EXPECT_EQ(config.error().sys_errno, ENOENT);
}

TEST(Config, DirectoryGivenAsTheFileIsAnError) {
  ConfigFile files;
  auto config = load_config(files.dir(), true);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("not a regular file"),
            std::string::npos);
}

TEST(Config, EmptyFileGivesTheDefaults) {
  auto config = parse_config("", "empty.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  expect_defaults(*config);
}

TEST(Config, SpecExampleParses) {
  constexpr const char *kSpecExample = R"(
interfaces  = ["eth1"]                   # protected interfaces (attached when they appear)
attach_mode = "auto"                     # auto (native, else generic) | native | generic
socket      = "/run/xdpgate/xdpgate.sock"
state_dir   = "/var/lib/xdpgate"
write_group = "xdpgate"                  # may change the list
read_group  = "xdpgate-read"             # may read it
capacity    = 1048576                    # entries per address family
metrics_address = ""                     # e.g. "127.0.0.1:9433": GET /metrics over TCP (off if empty)

[exempt]
tcp_ports = [10943]                      # polling tentacles; add health-check ports here
udp_ports = []
sources   = []                           # CIDRs always allowed: health checkers, service ranges

[scope]
protected_tcp_ports = []                 # empty: every port is protected
protected_udp_ports = []
)";
  auto config = parse_config(kSpecExample, "spec.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->interfaces, std::vector<std::string>{"eth1"});
  config->interfaces.clear();
  expect_defaults(*config);
}

TEST(Config, EveryKeyIsParsed) {
  ConfigFile files;
  auto path = files.write(R"(
interfaces  = ["eth1", "bond0.100"]
attach_mode = "generic"
socket      = "/run/other/gate.sock"
state_dir   = "/srv/xdpgate"
write_group = "netops"
read_group  = "auditors"
capacity    = 4096
metrics_address = "[::1]:9433"
denied_sample_rate = 256
denied_follow_events_per_second = 50

[exempt]
tcp_ports = [10943, 8080]
udp_ports = [53]
sources   = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]

[scope]
protected_tcp_ports = [22, 443]
protected_udp_ports = [443]
)");
  auto config = load_config(path, true);
  ASSERT_TRUE(config.ok()) << config.error().message;
  const Config &c = *config;
  EXPECT_EQ(c.interfaces, (std::vector<std::string>{"eth1", "bond0.100"}));
  EXPECT_EQ(c.attach_mode, AttachMode::Generic);
  EXPECT_EQ(c.socket, "/run/other/gate.sock");
  EXPECT_EQ(c.state_dir, "/srv/xdpgate");
  EXPECT_EQ(c.write_group, "netops");
  EXPECT_EQ(c.read_group, "auditors");
  EXPECT_EQ(c.capacity, 4096u);
  ASSERT_TRUE(c.metrics_address);
  EXPECT_EQ(c.metrics_address->to_string(), "[::1]:9433");
  EXPECT_EQ(c.denied_sample_rate, 256u);
  EXPECT_EQ(c.denied_follow_events_per_second, 50u);
  EXPECT_EQ(c.exempt_tcp_ports, (std::vector<std::uint16_t>{10943, 8080}));
  EXPECT_EQ(c.exempt_udp_ports, (std::vector<std::uint16_t>{53}));
  EXPECT_EQ(c.exempt_sources, (std::vector<IpPrefix>{prefix("192.0.2.0/24"),
                                                     prefix("2001:db8::/32"),
                                                     prefix("198.51.100.7")}));
  EXPECT_EQ(c.protected_tcp_ports, (std::vector<std::uint16_t>{22, 443}));
  EXPECT_EQ(c.protected_udp_ports, (std::vector<std::uint16_t>{443}));
}

TEST(Config, AttachModesAreNamedAsInTheFile) {
  for (auto [text, mode] : {std::pair{"auto", AttachMode::Auto},
                            std::pair{"native", AttachMode::Native},
                            std::pair{"generic", AttachMode::Generic}}) {
    auto config =
        parse_config(std::string("attach_mode = \"") + text + "\"", "t.toml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->attach_mode, mode);
    EXPECT_EQ(to_string(mode), text);
  }
}

// The denied-source sample counts 1 packet in this many past its exact
// counts: any power of two the kernel's shift can hold, 1 counting all.
TEST(Config, DeniedSampleRateIsAPowerOfTwoFromOneTo65536) {
  for (std::uint32_t rate : {1u, 2u, 64u, 1024u, 65536u}) {
    auto config =
        parse_config("denied_sample_rate = " + std::to_string(rate), "t.toml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->denied_sample_rate, rate);
  }
  for (const char *rate : {"0", "3", "100", "-64", "131072", "4294967296"}) {
    SCOPED_TRACE(rate);
    auto config =
        parse_config(std::string("#\ndenied_sample_rate = ") + rate, "t.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().field, "denied_sample_rate");
    EXPECT_EQ(config.error().message,
              std::string("t.toml:2: denied_sample_rate: expected a power of "
                          "two from 1 to 65536 (1 in that many packets "
                          "counted; 1: every packet), got ") +
                  rate);
  }
}

TEST(Config, DottedKeysAreTheSameAsSections) {
  auto config = parse_config("exempt.udp_ports = [123]", "t.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->exempt_udp_ports, std::vector<std::uint16_t>{123});
}

// What is wrong with a bad file: a value of the wrong TOML type, a value of
// the right type outside what the key accepts, or a key the table does not
// have.
enum class Fault { WrongType, OutOfRange, UnknownKey };

struct BadConfig {
  Fault fault;
  const char *description;
  const char *text;
  const char *field;      // Error.field: the dotted key
  const char *in_message; // what the message says is expected, or why
  int line;               // where the offending value is
};

// Every key of SPEC §5 with a wrong type and an out-of-range value, every
// table with an unknown key (EveryKeyHasABadConfigOfEachFault checks this
// against the keys the parser knows). Line 1 is a comment so that line
// numbers are checked, not assumed.
const BadConfig kBadConfigs[] = {
    // interfaces
    {Fault::WrongType, "interfaces not an array", "#\ninterfaces = \"eth0\"",
     "interfaces", "expected an array of interface names", 2},
    {Fault::WrongType, "interface name not a string", "#\ninterfaces = [3]",
     "interfaces", "got 3", 2},
    {Fault::OutOfRange, "interface name too long",
     "#\ninterfaces = [\"abcdefghijklmnop\"]", "interfaces",
     "1 to 15 characters", 2},
    {Fault::OutOfRange, "interface name empty", "#\ninterfaces = [\"\"]",
     "interfaces", "got \"\"", 2},
    {Fault::OutOfRange, "interface name with a slash",
     "#\ninterfaces = [\"eth/0\"]", "interfaces", "no '/'", 2},
    {Fault::OutOfRange, "interface name with a space",
     "#\ninterfaces = [\"eth 0\"]", "interfaces", "got \"eth 0\"", 2},
    {Fault::OutOfRange, "interface listed twice",
     "#\ninterfaces = [\"eth0\",\n \"eth0\"]", "interfaces", "listed twice", 3},
    // attach_mode
    {Fault::WrongType, "attach mode not a string", "#\nattach_mode = 1",
     "attach_mode", "got 1", 2},
    {Fault::OutOfRange, "unknown attach mode", "#\nattach_mode = \"fast\"",
     "attach_mode", R"(expected "auto", "native" or "generic", got "fast")", 2},
    {Fault::OutOfRange, "attach mode in capitals", "#\nattach_mode = \"AUTO\"",
     "attach_mode", "got \"AUTO\"", 2},
    // socket
    {Fault::WrongType, "socket not a string", "#\nsocket = 42", "socket",
     "expected an absolute path of at most 107 bytes, got 42", 2},
    {Fault::OutOfRange, "relative socket path", "#\nsocket = \"run/x.sock\"",
     "socket", "expected an absolute path", 2},
    {Fault::OutOfRange, "empty socket path", "#\nsocket = \"\"", "socket",
     "got \"\"", 2},
    // state_dir
    {Fault::WrongType, "state dir not a string", "#\nstate_dir = true",
     "state_dir", "got true", 2},
    {Fault::OutOfRange, "relative state dir", "#\nstate_dir = \"var/lib\"",
     "state_dir", "expected an absolute path", 2},
    // write_group
    {Fault::WrongType, "write group given as a gid", "#\nwrite_group = 1001",
     "write_group",
     "expected a group name (non-empty, no ':' or whitespace), "
     "got 1001",
     2},
    {Fault::OutOfRange, "empty write group", "#\nwrite_group = \"\"",
     "write_group", "expected a group name", 2},
    {Fault::OutOfRange, "write group with a colon", "#\nwrite_group = \"a:b\"",
     "write_group", "got \"a:b\"", 2},
    // read_group
    {Fault::WrongType, "read group an array", "#\nread_group = [\"ops\"]",
     "read_group", "got an array", 2},
    {Fault::OutOfRange, "read group with a space", "#\nread_group = \"a b\"",
     "read_group", "expected a group name", 2},
    // capacity
    {Fault::WrongType, "capacity a float", "#\ncapacity = 1e6", "capacity",
     "got the float", 2},
    {Fault::WrongType, "capacity a string", "#\ncapacity = \"1M\"", "capacity",
     "got \"1M\"", 2},
    {Fault::OutOfRange, "capacity zero", "#\ncapacity = 0", "capacity",
     "expected an integer from 1 to 16777216", 2},
    {Fault::OutOfRange, "capacity negative", "#\ncapacity = -1", "capacity",
     "got -1", 2},
    {Fault::OutOfRange, "capacity too large", "#\ncapacity = 16777217",
     "capacity", "got 16777217", 2},
    // denied_follow_events_per_second
    {Fault::WrongType, "follow budget a string",
     "#\ndenied_follow_events_per_second = \"10/s\"",
     "denied_follow_events_per_second", "got \"10/s\"", 2},
    {Fault::OutOfRange, "follow budget zero",
     "#\ndenied_follow_events_per_second = 0",
     "denied_follow_events_per_second", "expected an integer from 1 to 100000",
     2},
    {Fault::OutOfRange, "follow budget too large",
     "#\ndenied_follow_events_per_second = 100001",
     "denied_follow_events_per_second", "got 100001", 2},
    // metrics_address
    {Fault::WrongType, "metrics_address a number", "#\nmetrics_address = 9433",
     "metrics_address", "expected an IP address and a port", 2},
    {Fault::OutOfRange, "metrics_address without a port",
     "#\nmetrics_address = \"127.0.0.1\"", "metrics_address",
     "expected an IP address and a port", 2},
    {Fault::OutOfRange, "metrics_address with port 0",
     "#\nmetrics_address = \"127.0.0.1:0\"", "metrics_address",
     "the port must be a number from 1 to 65535", 2},
    {Fault::OutOfRange, "metrics_address with port 65536",
     "#\nmetrics_address = \"127.0.0.1:65536\"", "metrics_address",
     "got \"127.0.0.1:65536\"", 2},
    {Fault::OutOfRange, "metrics_address a host name",
     "#\nmetrics_address = \"localhost:9433\"", "metrics_address",
     "expected an IP address and a port", 2},
    {Fault::OutOfRange, "metrics_address IPv6 without brackets",
     "#\nmetrics_address = \"::1:9433\"", "metrics_address",
     "as in \"127.0.0.1:9433\" or \"[::1]:9433\"", 2},
    // [exempt]
    {Fault::WrongType, "exempt not a table", "#\nexempt = 5", "exempt",
     "expected a table ([exempt]), got 5", 2},
    {Fault::UnknownKey, "misspelt key in exempt", "#\n[exempt]\ntcp_port = [1]",
     "exempt.tcp_port", "unknown key (known here: tcp_ports, udp_ports", 3},
    {Fault::UnknownKey, "key from scope in exempt",
     "#\n[exempt]\nprotected_tcp_ports = [1]", "exempt.protected_tcp_ports",
     "unknown key", 3},
    {Fault::WrongType, "exempt tcp ports not an array",
     "#\n[exempt]\ntcp_ports = 22", "exempt.tcp_ports",
     "expected an array of port numbers", 3},
    {Fault::WrongType, "exempt tcp port a string",
     "#\n[exempt]\ntcp_ports = [\"ssh\"]", "exempt.tcp_ports", "got \"ssh\"",
     3},
    {Fault::OutOfRange, "exempt tcp port zero", "#\n[exempt]\ntcp_ports = [0]",
     "exempt.tcp_ports", "expected a port number from 1 to 65535, got 0", 3},
    {Fault::WrongType, "exempt udp ports a string",
     "#\n[exempt]\nudp_ports = \"53\"", "exempt.udp_ports",
     "expected an array of port numbers", 3},
    {Fault::OutOfRange, "exempt udp port too large",
     "#\n[exempt]\nudp_ports = [65536]", "exempt.udp_ports", "got 65536", 3},
    {Fault::WrongType, "exempt sources a string",
     "#\n[exempt]\nsources = \"10.0.0.0/8\"", "exempt.sources",
     "expected an array of CIDRs", 3},
    {Fault::WrongType, "exempt source not a string",
     "#\n[exempt]\nsources = [10]", "exempt.sources",
     "expected an IPv4 or IPv6 address or CIDR", 3},
    {Fault::OutOfRange, "exempt source not a CIDR",
     "#\n[exempt]\nsources = [\"1.2.3\"]", "exempt.sources", "1.2.3", 3},
    {Fault::OutOfRange, "exempt source prefix too long",
     "#\n[exempt]\nsources = [\"10.0.0.0/33\"]", "exempt.sources",
     "10.0.0.0/33", 3},
    {Fault::OutOfRange, "exempt source with host bits",
     "#\n[exempt]\nsources = [\"10.0.0.1/8\"]", "exempt.sources",
     "exempt.sources: \"10.0.0.1/8\" has host bits set; did you mean "
     "\"10.0.0.0/8\"?",
     3},
    // [scope]
    {Fault::WrongType, "scope not a table", "#\nscope = \"all\"", "scope",
     "expected a table ([scope]), got \"all\"", 2},
    {Fault::UnknownKey, "unknown key in scope", "#\n[scope]\nports = []",
     "scope.ports", "unknown key", 3},
    {Fault::UnknownKey, "key from exempt in scope",
     "#\n[scope]\ntcp_ports = [1]", "scope.tcp_ports", "unknown key", 3},
    {Fault::WrongType, "scope tcp ports a boolean",
     "#\n[scope]\nprotected_tcp_ports = true", "scope.protected_tcp_ports",
     "expected an array of port numbers", 3},
    {Fault::OutOfRange, "scope tcp port negative",
     "#\n[scope]\nprotected_tcp_ports = [-1]", "scope.protected_tcp_ports",
     "got -1", 3},
    {Fault::WrongType, "scope udp port a string",
     "#\n[scope]\nprotected_udp_ports = [\"53\"]", "scope.protected_udp_ports",
     "got \"53\"", 3},
    {Fault::OutOfRange, "scope udp port too large",
     "#\n[scope]\nprotected_udp_ports = [70000]", "scope.protected_udp_ports",
     "got 70000", 3},
    // store
    {Fault::WrongType, "store not a string", "#\nstore = 1", "store",
     "expected \"sqlite\" or \"etcd\", got 1", 2},
    {Fault::OutOfRange, "unknown store", "#\nstore = \"redis\"", "store",
     "got \"redis\"", 2},
    // [etcd]
    {Fault::WrongType, "etcd not a table", "#\netcd = \"x\"", "etcd",
     "expected a table ([etcd])", 2},
    {Fault::UnknownKey, "unknown key in etcd", "#\n[etcd]\nendpoint = []",
     "etcd.endpoint", "unknown key", 3},
    {Fault::WrongType, "etcd endpoints a string",
     "#\n[etcd]\nendpoints = \"http://198.18.0.1:2379\"", "etcd.endpoints",
     "expected an array of etcd endpoints", 3},
    {Fault::OutOfRange, "etcd endpoint without a scheme",
     "#\n[etcd]\nendpoints = [\"198.18.0.1:2379\"]", "etcd.endpoints",
     "got \"198.18.0.1:2379\"", 3},
    {Fault::WrongType, "etcd prefix a number", "#\n[etcd]\nprefix = 1",
     "etcd.prefix", "got 1", 3},
    {Fault::OutOfRange, "etcd prefix without its last slash",
     "#\n[etcd]\nprefix = \"/xdpgate\"", "etcd.prefix",
     "starts and ends with '/'", 3},
    {Fault::WrongType, "etcd cacert a boolean", "#\n[etcd]\ncacert = true",
     "etcd.cacert", "got true", 3},
    {Fault::OutOfRange, "etcd cacert relative",
     "#\n[etcd]\ncacert = \"ca.pem\"", "etcd.cacert",
     "expected an absolute path", 3},
    {Fault::WrongType, "etcd cert a number", "#\n[etcd]\ncert = 1", "etcd.cert",
     "got 1", 3},
    {Fault::OutOfRange, "etcd cert relative", "#\n[etcd]\ncert = \"c.pem\"",
     "etcd.cert", "expected an absolute path", 3},
    {Fault::WrongType, "etcd key an array", "#\n[etcd]\nkey = []", "etcd.key",
     "got an array", 3},
    {Fault::OutOfRange, "etcd key relative", "#\n[etcd]\nkey = \"k.pem\"",
     "etcd.key", "expected an absolute path", 3},
    {Fault::WrongType, "etcd host name a number", "#\n[etcd]\nhost_name = 7",
     "etcd.host_name", "got 7", 3},
    {Fault::OutOfRange, "etcd host name with a space",
     "#\n[etcd]\nhost_name = \"edge 1\"", "etcd.host_name", "got \"edge 1\"",
     3},
    // the top-level table
    {Fault::UnknownKey, "unknown top-level key", "#\ncolour = \"blue\"",
     "colour", "unknown key (known here: interfaces, attach_mode", 2},
    {Fault::UnknownKey, "unknown section", "#\n[extra]\na = 1", "extra",
     "unknown key", 2},
    {Fault::UnknownKey, "section key at the top level", "#\ntcp_ports = [1]",
     "tcp_ports", "unknown key", 2},
    {Fault::UnknownKey, "interface in the singular", "#\ninterface = \"eth1\"",
     "interface", "unknown key", 2},
    {Fault::WrongType, "denied sample rate a string",
     "#\ndenied_sample_rate = \"64\"", "denied_sample_rate", "got \"64\"", 2},
    {Fault::OutOfRange, "denied sample rate not a power of two",
     "#\ndenied_sample_rate = 48", "denied_sample_rate",
     "expected a power of two from 1 to 65536", 2},
};

TEST(Config, EveryBadValueIsNamedWithItsLineAndWhatIsExpected) {
  for (const auto &bad : kBadConfigs) {
    SCOPED_TRACE(bad.description);
    auto config = parse_config(bad.text, "x.toml");
    ASSERT_FALSE(config.ok());
    const Error &e = config.error();
    EXPECT_EQ(e.code, ErrorCode::InvalidConfig);
    EXPECT_EQ(e.field, bad.field);
    EXPECT_NE(e.message.find(bad.in_message), std::string::npos) << e.message;
    EXPECT_EQ(e.message.rfind("x.toml:" + std::to_string(bad.line) + ": " +
                                  bad.field + ": ",
                              0),
              0u)
        << e.message;
  }
}

// The keys the parser knows in one table (`section` empty: the top level),
// from its own unknown-key message, so a key added to the parser without
// rows in kBadConfigs fails the test below.
std::vector<std::string> known_keys(const std::string &section) {
  std::string text = section.empty() ? "" : "[" + section + "]\n";
  auto config = parse_config(text + "no_such_key = 1", "k.toml");
  EXPECT_FALSE(config.ok());
  if (config.ok())
    return {};
  const std::string &message = config.error().message;
  const std::string marker = "known here: ";
  auto begin = message.find(marker);
  auto end = message.rfind(')');
  EXPECT_TRUE(begin != std::string::npos && end != std::string::npos)
      << message;
  if (begin == std::string::npos || end == std::string::npos)
    return {};
  std::vector<std::string> keys;
  std::string list =
      message.substr(begin + marker.size(), end - begin - marker.size());
  for (std::size_t at = 0; at <= list.size();) {
    auto comma = std::min(list.find(", ", at), list.size());
    keys.push_back(list.substr(at, comma - at));
    at = comma + 2;
  }
  return keys;
}

bool has_row(const std::string &field, Fault fault) {
  return std::any_of(
      std::begin(kBadConfigs), std::end(kBadConfigs),
      [&](const BadConfig &bad) {
        if (bad.fault != fault)
          return false;
        if (fault != Fault::UnknownKey)
          return field == bad.field;
        // An unknown key's row counts for its table.
        std::string key = bad.field;
        auto dot = key.rfind('.');
        return field == (dot == std::string::npos ? "" : key.substr(0, dot));
      });
}

TEST(Config, AFleetsEtcdTableIsRead) {
  auto config = parse_config(R"(store = "etcd"
[etcd]
endpoints = ["https://198.18.0.1:2379", "http://198.18.0.2:2379"]
prefix = "/xdpgate/prod/"
cacert = "/etc/xdpgate/etcd-ca.pem"
cert = "/etc/xdpgate/etcd-client.pem"
key = "/etc/xdpgate/etcd-client-key.pem"
host_name = "edge-1"
)",
                             "fleet.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->store, Config::StoreKind::Etcd);
  EXPECT_EQ(config->etcd.endpoints,
            (std::vector<std::string>{"https://198.18.0.1:2379",
                                      "http://198.18.0.2:2379"}));
  EXPECT_EQ(config->etcd.prefix, "/xdpgate/prod/");
  EXPECT_EQ(config->etcd.cacert, "/etc/xdpgate/etcd-ca.pem");
  EXPECT_EQ(config->etcd.key, "/etc/xdpgate/etcd-client-key.pem");
  EXPECT_EQ(config->etcd.host_name, "edge-1");
}

TEST(Config, AnEtcdStoreNeedsEndpointsAndACertNeedsItsKey) {
  auto no_endpoints = parse_config("store = \"etcd\"", "fleet.toml");
  ASSERT_FALSE(no_endpoints.ok());
  EXPECT_EQ(no_endpoints.error().field, "etcd.endpoints");
  auto cert_alone = parse_config(
      "[etcd]\nendpoints = [\"https://198.18.0.1:2379\"]\ncert = \"/c.pem\"",
      "fleet.toml");
  ASSERT_FALSE(cert_alone.ok());
  EXPECT_EQ(cert_alone.error().field, "etcd.key");
}

TEST(Config, EveryKeyHasABadConfigOfEachFault) {
  std::vector<std::string> top = known_keys("");
  EXPECT_EQ(top.size(), 14u)
      << "SPEC §5 has nine keys and two tables, §7 the [etcd] table; "
         "denied_sample_rate (SPEC §1's sample) and "
         "denied_follow_events_per_second (the live view) make fourteen";
  EXPECT_TRUE(has_row("", Fault::UnknownKey)) << "the top level";
  for (const std::string &key : top) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(has_row(key, Fault::WrongType));
    auto as_table = parse_config(key + " = true", "k.toml");
    ASSERT_FALSE(as_table.ok());
    if (as_table.error().message.find("expected a table") ==
        std::string::npos) {
      EXPECT_TRUE(has_row(key, Fault::OutOfRange));
      continue;
    }
    EXPECT_TRUE(has_row(key, Fault::UnknownKey));
    std::vector<std::string> inner = known_keys(key);
    EXPECT_FALSE(inner.empty());
    for (const std::string &name : inner) {
      SCOPED_TRACE(key + "." + name);
      EXPECT_TRUE(has_row(key + "." + name, Fault::WrongType));
      EXPECT_TRUE(has_row(key + "." + name, Fault::OutOfRange));
    }
  }
}

// config_keys() (what the manual is checked against) is the parser's own
// list: every key in it is known, in its table, and every table's keys are in
// it.
TEST(Config, KeyListIsWhatTheParserAccepts) {
  std::vector<std::string> keys = config_keys();
  for (const std::string &key : keys) {
    SCOPED_TRACE(key);
    // No key takes a boolean: the refusal names the key, as a known one.
    auto config = parse_config(key + " = true", "k.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().field, key);
    EXPECT_EQ(config.error().message.find("unknown key"), std::string::npos)
        << config.error().message;
  }
  auto is_table = [](const std::string &key) {
    auto config = parse_config(key + " = true", "k.toml");
    return !config.ok() &&
           config.error().message.find("expected a table") != std::string::npos;
  };
  std::vector<std::string> from_messages;
  for (const std::string &key : known_keys("")) {
    if (!is_table(key))
      from_messages.push_back(key);
    else
      for (const std::string &name : known_keys(key))
        from_messages.push_back(key + "." + name);
  }
  EXPECT_EQ(keys, from_messages);
}

// TOML itself refuses these; the message still names the line and the key.
TEST(Config, KeysAreNotDefinedTwice) {
  struct Twice {
    const char *text;
    int line;
    const char *key;
  };
  for (const Twice &t : {
           Twice{"capacity = 1\ncapacity = 2", 2, "capacity"},
           Twice{"[exempt]\n[exempt]", 2, "exempt"},
           Twice{"[exempt]\ntcp_ports = [1]\ntcp_ports = [2]", 3, "tcp_ports"},
           Twice{"exempt.udp_ports = [1]\n[exempt]\nudp_ports = [2]", 2,
                 "exempt"},
       }) {
    SCOPED_TRACE(t.text);
    auto config = parse_config(t.text, "x.toml");
    ASSERT_FALSE(config.ok());
    const Error &e = config.error();
    EXPECT_EQ(e.code, ErrorCode::InvalidConfig);
    EXPECT_EQ(e.message.rfind("x.toml:" + std::to_string(t.line) + ": ", 0), 0u)
        << e.message;
    EXPECT_NE(e.message.find(std::string("'") + t.key + "'"), std::string::npos)
        << e.message;
  }
}

// toml++ 3.3 aborts on these (an assertion in its key parser) unless they are
// refused first: the daemon would die at start, or on SIGHUP, instead of
// saying where the file is wrong. Found by config_fuzz.
TEST(Config, TableHeaderWithoutANameIsRefusedNotACrash) {
  for (const char *text :
       {"#\n[", "#\n[\n", "#\n[ \n", "#\n[#x]", "#\n[.a]", "#\n[=]",
        "#\n  [\x01]", "#\n[[\n", "#\n[[[1]]]", "#\n[ [a]]", "#\n[\xc3\xa9]",
        "#\n[\r\n", "\xEF\xBB\xBF\n[.]"}) {
    SCOPED_TRACE(text);
    auto config = parse_config(text, "x.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().code, ErrorCode::InvalidConfig);
    EXPECT_EQ(config.error().message.rfind("x.toml:2: ", 0), 0u)
        << config.error().message;
  }
}

// Other inputs that break toml++ 3.3's internal checks (assert() in its
// parser) are refused as invalid files too, not an abort. Found by
// config_fuzz.
TEST(Config, InputsThatBreakTheTomlParsersChecksAreRefused) {
  for (const char *text :
       {"exempt.tcp_ports = [}", "capacity = [1, }", "a = [[[}0"}) {
    SCOPED_TRACE(text);
    auto config = parse_config(text, "x.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().code, ErrorCode::InvalidConfig);
    EXPECT_EQ(config.error().message.rfind("x.toml: not valid TOML", 0), 0u)
        << config.error().message;
  }
}

// toml++ 3.3 reaches __builtin_unreachable (undefined behaviour) on many
// non-ASCII characters where it looks for whitespace: in keys, in a bad
// value it reads on through quotes, after a backslash in a multi-line
// string. The configuration is ASCII outside comments. Found by config_fuzz.
TEST(Config, NonAsciiOutsideCommentsIsRefused) {
  for (const char *text : {
           "#\ncapacit\xc3\xa9 = 1", "#\na\xcd\xa8 = 1", "#\n[exempt\xcd\xa8]",
           "#\ncapacity = 1\xc2\xa0", "#\nexe=5=\"$/srv/xdpgat\xcb\xa0\n[",
           "#\nwrite_group = \"caf\xc3\xa9\"",
           "#\nsocket = \"\"\"/x\\\xc3\xa9\"\"\"",
           "socket = \"\"\"/x\\ \n\xc3\xa9\"\"\"", // é on line 2
       }) {
    SCOPED_TRACE(text);
    auto config = parse_config(text, "x.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(
        config.error().message.rfind("x.toml:2: a non-ASCII character", 0), 0u)
        << config.error().message;
  }
  auto in_comments = parse_config("# caf\xc3\xa9\n[exempt]\n# \xcd\xa8\n"
                                  "sources = [] # \xe2\x80\x94 \"#\n",
                                  "x.toml");
  EXPECT_TRUE(in_comments.ok()) << in_comments.error().message;
}

// ... and the check that refuses them does not mistake brackets inside
// values, strings or comments for table headers.
TEST(Config, BracketsInsideValuesAreNotTableHeaders) {
  struct Case {
    const char *text;
    const char *field; // the key the error must name; "" when accepted
  };
  for (const Case &c : {
           Case{"exempt.tcp_ports = [\n[+1]\n]", "exempt.tcp_ports"},
           Case{"exempt.tcp_ports = [\n  [ [1] ],\n]", "exempt.tcp_ports"},
           Case{"socket = \"\"\"\n[=]\"\"\"", "socket"},
           Case{"socket = '''\n[.]'''", "socket"},
           Case{"socket = \"\"\"\\\n[=]\"\"\"", "socket"},
           Case{"# [=]\ncapacity = 5 # [\n[scope] # [.]", ""},
           Case{"interfaces = [\n\"eth0\", # [\n\"eth1\",\n]", ""},
           Case{"\xEF\xBB\xBF[exempt]\ntcp_ports = []", ""},
       }) {
    SCOPED_TRACE(c.text);
    auto config = parse_config(c.text, "x.toml");
    if (*c.field == '\0') {
      EXPECT_TRUE(config.ok()) << config.error().message;
      continue;
    }
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().field, c.field) << config.error().message;
  }
}

TEST(Config, SocketPathMustFitAUnixSocketAddress) {
  auto config =
      parse_config("socket = \"/" + std::string(107, 'a') + "\"", "t.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().field, "socket");
  EXPECT_NE(config.error().message.find("at most 107 bytes"),
            std::string::npos);
  EXPECT_TRUE(
      parse_config("socket = \"/" + std::string(106, 'a') + "\"", "t.toml")
          .ok());
}

TEST(Config, SyntaxErrorNamesTheFileAndLine) {
  auto config = parse_config("capacity = 1\n\ncapacity = = 2\n", "x.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::InvalidConfig);
  EXPECT_EQ(config.error().message.rfind("x.toml:3: ", 0), 0u)
      << config.error().message;
}

TEST(Config, ErrorsFromAFileNameItsPath) {
  ConfigFile files;
  auto path = files.write("capacity = 0\n");
  auto config = load_config(path, false);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message.rfind(path.string() + ":1: capacity: ", 0),
            0u)
      << config.error().message;
}

} // namespace
} // namespace xdpgate
