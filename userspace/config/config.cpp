// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <span>

#include "common/fd.hpp"
#include "config/config_values.hpp"
#include "config/toml.hpp"

namespace xdpgate {

void toml_check_failed(const char *check) {
  throw TomlCheckFailed(std::string("toml++ check failed: ") + check);
}

namespace {

using namespace config_values;

// One table of the file: its keys and how each is applied. A key that is a
// table of its own ([exempt]) has no handler but the keys of that table.
struct Key {
  std::string_view name;
  Status (*apply)(const Where &, const toml::node &, Config &);
  std::span<const Key> table = {};
};

Status walk(const Where &table_where, const toml::table &table,
            std::span<const Key> keys, Config &config) {
  for (const auto &[name, node] : table) {
    Where w{table_where.source,
            table_where.key.empty()
                ? std::string(name.str())
                : table_where.key + "." + std::string(name.str())};
    // A named copy: clang before 16 cannot capture a structured binding.
    std::string_view wanted = name.str();
    auto key = std::find_if(keys.begin(), keys.end(),
                            [&](const Key &k) { return k.name == wanted; });
    if (key == keys.end()) {
      std::string known;
      for (const auto &k : keys)
        known += (known.empty() ? "" : ", ") + std::string(k.name);
      return w.fail_at(name.source(),
                       "unknown key (known here: " + known + ")");
    }
    if (!key->table.empty()) {
      const auto *nested = node.as_table();
      if (nested == nullptr)
        return w.fail(node, "a table ([" + w.key + "])");
      if (auto status = walk(w, *nested, key->table, config); !status)
        return status;
    } else if (auto status = key->apply(w, node, config); !status) {
      return status;
    }
  }
  return {};
}

constexpr Key kExemptKeys[] = {
    {"tcp_ports",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.exempt_tcp_ports, ports(w, n));
     }},
    {"udp_ports",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.exempt_udp_ports, ports(w, n));
     }},
    {"sources",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.exempt_sources, sources(w, n));
     }},
};

constexpr Key kScopeKeys[] = {
    {"protected_tcp_ports",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.protected_tcp_ports, ports(w, n));
     }},
    {"protected_udp_ports",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.protected_udp_ports, ports(w, n));
     }},
};

constexpr Key kEtcdKeys[] = {
    {"endpoints",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.etcd.endpoints, endpoints(w, n));
     }},
    {"prefix",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.etcd.prefix, key_prefix(w, n));
     }},
    {"cacert",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.etcd.cacert, optional_file(w, n));
     }},
    {"cert",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.etcd.cert, optional_file(w, n));
     }},
    {"key", [](const Where &w, const toml::node &n,
               Config &c) { return assign(c.etcd.key, optional_file(w, n)); }},
    {"host_name",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.etcd.host_name, host_name(w, n));
     }},
};

constexpr Key kTopKeys[] = {
    {"interfaces",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.interfaces, interfaces(w, n));
     }},
    {"attach_mode",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.attach_mode, attach_mode(w, n));
     }},
    {"socket",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.socket,
                     absolute_path(w, n, sizeof(sockaddr_un::sun_path) - 1));
     }},
    {"state_dir",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.state_dir, absolute_path(w, n, PATH_MAX - 1));
     }},
    {"write_group",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.write_group, group_name(w, n));
     }},
    {"read_group",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.read_group, group_name(w, n));
     }},
    {"capacity",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.capacity,
                     count_in(w, n, 16777216,
                              "an integer from 1 to 16777216 (entries per "
                              "family)"));
     }},
    {"metrics_address",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.metrics_address, tcp_address(w, n));
     }},
    {"denied_sample_rate",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.denied_sample_rate,
                     count_in(w, n, 65536,
                              "a power of two from 1 to 65536 (1 in that many "
                              "packets counted; 1: every packet)",
                              true));
     }},
    {"denied_follow_events_per_second",
     [](const Where &w, const toml::node &n, Config &c) {
       return assign(c.denied_follow_events_per_second,
                     count_in(w, n, 100000,
                              "an integer from 1 to 100000 (events per "
                              "second)"));
     }},
    {"store",
     [](const Where &w, const toml::node &n, Config &c) {
       Result<bool> etcd = store_is_etcd(w, n);
       if (!etcd)
         return Status(etcd.error());
       c.store = *etcd ? Config::StoreKind::Etcd : Config::StoreKind::Sqlite;
       return Status();
     }},
    {"exempt", nullptr, kExemptKeys},
    {"scope", nullptr, kScopeKeys},
    {"etcd", nullptr, kEtcdKeys},
};

void collect_keys(std::span<const Key> keys, const std::string &prefix,
                  std::vector<std::string> &out) {
  for (const Key &key : keys) {
    std::string name = prefix + std::string(key.name);
    if (key.table.empty())
      out.push_back(std::move(name));
    else
      collect_keys(key.table, name + ".", out);
  }
}

// Inputs toml++ 3.3 (Debian 12's) does not survive, refused here before it
// sees them. A table header whose first key does not start like one (a lone
// "[", "[.a]", "[=]", "[#"): an assertion aborts the daemon (fixed upstream
// in marzer/tomlplusplus#301). A non-ASCII character wherever toml++ may
// look for whitespace, which is anywhere but a comment (in keys and bare
// values, inside a bad value it reads on through quotes, after a backslash
// in a multi-line string): its Unicode whitespace table reaches
// __builtin_unreachable for many code points. No value of SPEC §5 needs
// more than ASCII, so only comments may have it. Strings and comments are
// skipped and brackets counted, so a '#' in a string is no comment and
// arrays spanning lines are not taken for headers. Gives the line and what
// is wrong there.
struct Hazard {
  std::size_t line;
  std::string what;
};

constexpr const char *kNonAscii =
    "a non-ASCII character; the configuration is ASCII outside comments";

std::optional<Hazard> toml_hazard(std::string_view text) {
  auto key_start = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           c == '-' || c == '"' || c == '\'' || c == ']';
  };
  std::size_t line = 1;
  int depth = 0;
  bool line_start = true;
  char previous = '\n'; // the last character that was not a space
  if (text.starts_with("\xEF\xBB\xBF")) // toml++ skips a UTF-8 BOM
    text.remove_prefix(3);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = true;
      previous = c;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r')
      continue;
    if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
      continue;
    }
    // A quote opens a string only where TOML has one: toml++ reads a quote
    // right after other text ("0\"é") as part of that text.
    bool string_may_start =
        std::string_view("\n=[,{.").find(previous) != std::string_view::npos;
    if ((c == '"' || c == '\'') && string_may_start) {
      // Multi-line strings end at the tripled quote, others at the quote or
      // (unterminated) the line's end; a basic string has escapes.
      bool multi = text.substr(i, 3) == std::string(3, c);
      i += multi ? 3 : 1;
      for (; i < text.size(); ++i) {
        if (text[i] == '\n') {
          if (!multi)
            break;
          ++line;
        } else if (static_cast<unsigned char>(text[i]) >= 0x80) {
          return Hazard{line, kNonAscii};
        } else if (c == '"' && text[i] == '\\') {
          if (i + 1 < text.size() &&
              static_cast<unsigned char>(text[i + 1]) >= 0x80)
            return Hazard{line, kNonAscii};
          if (i + 1 < text.size() && text[i + 1] == '\n')
            ++line;
          ++i;
        } else if (text[i] == c &&
                   (!multi || text.substr(i, 3) == std::string(3, c))) {
          i += multi ? 2 : 0;
          break;
        }
      }
      if (i < text.size() && text[i] == '\n')
        --i; // the newline is counted above
      line_start = false;
      previous = c;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80)
      return Hazard{line, kNonAscii};
    if (c == '[' && line_start && depth == 0) {
      std::size_t at = i + 1;
      if (at < text.size() && text[at] == '[')
        ++at;
      while (at < text.size() && (text[at] == ' ' || text[at] == '\t'))
        ++at;
      if (at < text.size() && !key_start(text[at]))
        return Hazard{line, "table header: expected a table name after '['"};
    }
    if (c == '[' || c == '{')
      ++depth;
    else if ((c == ']' || c == '}') && depth > 0)
      --depth;
    line_start = false;
    previous = c;
  }
  return std::nullopt;
}

} // namespace

Result<Config> parse_config(std::string_view toml_text,
                            std::string_view source_name) {
  if (auto hazard = toml_hazard(toml_text))
    return Error{kCode, std::string(source_name) + ":" +
                            std::to_string(hazard->line) + ": " + hazard->what};
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error &e) {
    return Error{kCode, located(source_name, e.source()) +
                            std::string(e.description())};
  } catch (const TomlCheckFailed &) {
    return Error{kCode,
                 std::string(source_name) +
                     ": not valid TOML, and the parser cannot say where; look "
                     "for a bracket, brace or quote out of place"};
  }
  Config config;
  if (auto status = walk(Where{source_name, ""}, root, kTopKeys, config);
      !status)
    return status.error();
  if (config.store == Config::StoreKind::Etcd && config.etcd.endpoints.empty())
    return Error{kCode,
                 std::string(source_name) +
                     ": store = \"etcd\" needs [etcd] endpoints, such as "
                     "endpoints = [\"https://198.18.0.1:2379\"]",
                 "etcd.endpoints"};
  if (config.etcd.cert.empty() != config.etcd.key.empty())
    return Error{kCode,
                 std::string(source_name) +
                     ": [etcd] cert and key go together: set both or neither",
                 config.etcd.cert.empty() ? "etcd.cert" : "etcd.key"};
  return config;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  collect_keys(kTopKeys, "", keys);
  return keys;
}

Result<Config> load_config(const std::filesystem::path &path,
                           bool path_was_given) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT && !path_was_given)
      return Config{};
    if (errno == ENOENT)
      return Error{kCode,
                   "config file " + path.string() +
                       " does not exist; create it, or leave out --config "
                       "to run on the defaults",
                   "", ENOENT};
    return system_error(kCode, "cannot open config file " + path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return system_error(kCode, "cannot stat " + path.string());
  if (!S_ISREG(st.st_mode))
    return Error{kCode,
                 "config file " + path.string() + " is not a regular file"};
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return system_error(kCode, "cannot read config file " + path.string());
    if (n == 0)
      break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return parse_config(text, path.string());
}

} // namespace xdpgate
