// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "api/responses.hpp"
#include "api/routes.hpp"
#include "model/entry_json.hpp"

namespace xdpgate::api {

namespace {

using nlohmann::json;

// Label values escape backslash, double quote and newline.
std::string label(const std::string &value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string text_of(const json &object, const char *key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::uint64_t count_of(const json &object, const char *key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer())
    return 0;
  if (it->is_number_unsigned())
    return it->get<std::uint64_t>();
  return static_cast<std::uint64_t>(
      std::max<std::int64_t>(it->get<std::int64_t>(), 0));
}

void family(std::string &out, const char *name, const char *type,
            const char *help) {
  out += std::string("# HELP ") + name + " " + help + "\n";
  out += std::string("# TYPE ") + name + " " + type + "\n";
}

void sample(std::string &out, const char *name, const std::string &labels,
            const std::string &value) {
  out += name;
  if (!labels.empty())
    out += "{" + labels + "}";
  out += " " + value + "\n";
}

// Per interface and verdict, from the daemon's interface views.
void verdict_counters(std::string &out, const json &interfaces,
                      const char *name, const char *key, const char *help) {
  family(out, name, "counter", help);
  for (const json &iface : interfaces) {
    auto counters = iface.find("counters");
    if (!iface.is_object() || counters == iface.end() || !counters->is_object())
      continue;
    for (const auto &[verdict, values] : counters->items())
      if (values.is_object())
        sample(out, name,
               "interface=\"" + label(text_of(iface, "name")) +
                   "\",verdict=\"" + label(verdict) + "\"",
               std::to_string(count_of(values, key)));
  }
}

void metrics(const ApiBackend &b, const Call &, Response &res) {
  res.status = 200;
  res.set_content(metrics_text(b), kMetricsContentType);
}

} // namespace

std::string metrics_text(const ApiBackend &b) {
  json interfaces = b.interfaces ? b.interfaces() : json::array();
  if (!interfaces.is_array())
    interfaces = json::array();
  std::string out;
  verdict_counters(out, interfaces, "xdpgate_packets_total", "packets",
                   "Packets the XDP program judged, by interface and verdict.");
  verdict_counters(out, interfaces, "xdpgate_bytes_total", "bytes",
                   "Bytes the XDP program judged, by interface and verdict.");

  std::size_t total = b.list.total_count();
  std::size_t enabled = b.list.enabled_count();
  family(out, "xdpgate_entries", "gauge", "Allow-list entries by state.");
  sample(out, "xdpgate_entries", "state=\"enabled\"", std::to_string(enabled));
  sample(out, "xdpgate_entries", "state=\"disabled\"",
         std::to_string(total >= enabled ? total - enabled : 0));

  const StoreStatus store = b.list.store_status();
  family(out, "xdpgate_store_stale", "gauge",
         "1 while the enforced list may be behind the store's.");
  sample(out, "xdpgate_store_stale", "", store.stale ? "1" : "0");
  family(out, "xdpgate_store_invalid_values_total", "counter",
         "Values under the etcd prefix that xdpgated did not write, ignored.");
  sample(out, "xdpgate_store_invalid_values_total", "",
         std::to_string(store.invalid_values));

  RestrictionState state = b.list.state();
  family(out, "xdpgate_restriction_active", "gauge",
         "1 while the allow list is enforced or monitored.");
  sample(out, "xdpgate_restriction_active", "", state.active() ? "1" : "0");
  family(out, "xdpgate_mode", "gauge", "1 for the current mode.");
  for (Mode m : {Mode::Off, Mode::Monitor, Mode::Enforce})
    sample(out, "xdpgate_mode", "mode=\"" + std::string(to_string(m)) + "\"",
           m == state.mode ? "1" : "0");

  family(out, "xdpgate_last_sync_timestamp_seconds", "gauge",
         "When the kernel maps last took the list (Unix time).");
  if (auto synced = b.last_sync_at ? b.last_sync_at() : std::nullopt) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.3f",
                  static_cast<double>(*synced) / 1000.0);
    sample(out, "xdpgate_last_sync_timestamp_seconds", "", seconds);
  }

  family(out, "xdpgate_interface_attached", "gauge",
         "1 when the XDP program is attached to the interface.");
  for (const json &iface : interfaces)
    if (iface.is_object())
      sample(out, "xdpgate_interface_attached",
             "interface=\"" + label(text_of(iface, "name")) +
                 "\",attach_mode=\"" + label(text_of(iface, "attach_mode")) +
                 "\"",
             text_of(iface, "state") == "attached" ? "1" : "0");

  return out;
}

std::vector<Route> metrics_routes(const ApiBackend &b) {
  return {{"GET", "/metrics", Access::Read, {}, bound<metrics>(b)}};
}

} // namespace xdpgate::api
