// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Restriction and observation routes: /status, /activate, /deactivate,
// /confirm, /audit and /denied.
#include <chrono>
#include <cstdint>

#include "api/list_input.hpp"
#include "api/preview.hpp"
#include "api/request.hpp"
#include "api/responses.hpp"
#include "api/routes.hpp"
#include "model/entry_json.hpp"

namespace xdpgate::api {

namespace {

using nlohmann::json;

// An entry with no hit for this long is reported as stale.
constexpr std::chrono::milliseconds kStaleAfter = std::chrono::hours(24 * 30);
constexpr std::int64_t kMaxAuditPage = 1000;
constexpr std::int64_t kMaxDeniedTop = 1000;
constexpr std::int64_t kDefaultDeniedTop = 10;

json or_empty(const std::function<json()> &source, json empty) {
  return source ? source() : std::move(empty);
}

void status(const ApiBackend &b, const Call &, Response &res) {
  json out = xdpgate::to_json(b.list.state());
  out["entries"] = {{"total", b.list.total_count()},
                    {"enabled", b.list.enabled_count()}};
  out["interfaces"] = or_empty(b.interfaces, json::array());
  out["exemptions"] = or_empty(b.exemptions, {{"tcp_ports", json::array()},
                                              {"udp_ports", json::array()},
                                              {"sources", json::array()}});
  out["scope"] = or_empty(b.scope, {{"protected_tcp_ports", json::array()},
                                    {"protected_udp_ports", json::array()}});
  std::optional<EpochMs> synced =
      b.last_sync_at ? b.last_sync_at() : std::nullopt;
  out["last_sync_at"] = synced ? json(*synced) : json(nullptr);
  ListWarnings w = b.list.warnings(kStaleAfter);
  out["warnings"] = {{"overlaps", w.overlaps}, {"stale", w.stale_ids}};
  const StoreStatus store = b.list.store_status();
  const bool shared = store.kind != "sqlite";
  out["store"] = {{"kind", store.kind},
                  {"endpoints", store.endpoints},
                  {"revision", shared ? json(store.revision) : json(nullptr)},
                  {"stale", store.stale},
                  {"last_applied_at", store.last_applied_at
                                          ? json(*store.last_applied_at)
                                          : json(nullptr)}};
  send_json(res, 200, out);
}

// Every live host of the fleet, the revision it applied and whether that
// is behind the store's (SPEC §7).
void fleet(const ApiBackend &b, const Call &, Response &res) {
  Result<Fleet> fleet = b.list.fleet();
  if (!fleet)
    return send_error(res, fleet.error());
  json hosts = json::array();
  for (const FleetHost &host : fleet->hosts)
    hosts.push_back({{"host_name", host.host_name},
                     {"revision", host.revision},
                     {"applied_at",
                      host.applied_at ? json(*host.applied_at) : json(nullptr)},
                     {"behind", host.revision < fleet->revision}});
  send_json(res, 200, {{"revision", fleet->revision}, {"hosts", hosts}});
}

void send_state(Response &res, const Result<RestrictionState> &state) {
  if (!state)
    return send_error(res, state.error());
  send_json(res, 200, xdpgate::to_json(*state));
}

void activate(const ApiBackend &b, const Call &call, Response &res) {
  Result<std::optional<json>> body = json_body(call.http, false);
  if (!body)
    return send_error(res, body.error());
  Result<ActivateRequest> request = activate_request_from(*body);
  if (!request)
    return send_error(res, request.error());
  send_state(res, b.list.activate(*request, call.actor));
}

void deactivate(const ApiBackend &b, const Call &call, Response &res) {
  if (Status s = no_body(call.http); !s)
    return send_error(res, s.error());
  send_state(res, b.list.deactivate(call.actor));
}

void confirm(const ApiBackend &b, const Call &call, Response &res) {
  if (Status s = no_body(call.http); !s)
    return send_error(res, s.error());
  send_state(res, b.list.confirm(call.actor));
}

// The audit log stores before/after as JSON text; answer them as JSON.
json stored_json(const std::string &text) {
  if (text.empty())
    return nullptr;
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : value;
}

void audit(const ApiBackend &b, const Call &call, Response &res) {
  Result<std::int64_t> offset = query_int(call.http, "offset", 0, 0, INT64_MAX);
  if (!offset)
    return send_error(res, offset.error());
  Result<std::int64_t> limit =
      query_int(call.http, "limit", 50, 1, kMaxAuditPage);
  if (!limit)
    return send_error(res, limit.error());
  Result<AuditPage> page = b.list.audit(*offset, *limit);
  if (!page)
    return send_error(res, page.error());
  json items = json::array();
  for (const AuditRecord &r : page->records)
    items.push_back(
        {{"sequence", r.sequence},
         {"at", r.at},
         {"actor", r.actor},
         {"action", r.action},
         {"entry_id", r.entry_id.empty() ? json(nullptr) : json(r.entry_id)},
         {"before", stored_json(r.before)},
         {"after", stored_json(r.after)},
         {"host", r.host.empty() ? json(nullptr) : json(r.host)}});
  send_json(res, 200, {{"items", std::move(items)}, {"total", page->total}});
}

void denied(const ApiBackend &b, const Call &call, Response &res) {
  Result<bool> follow = query_flag(call.http, "follow");
  if (!follow)
    return send_error(res, follow.error());
  if (*follow && call.http.param("top"))
    return send_error(res, {ErrorCode::InvalidParameter,
                            "top: not with follow=true (the stream shows "
                            "every reported packet)",
                            "top"});
  if (*follow)
    return follow_denied(b, call, res);
  Result<std::int64_t> top =
      query_int(call.http, "top", kDefaultDeniedTop, 1, kMaxDeniedTop);
  if (!top)
    return send_error(res, top.error());
  send_json(res, 200,
            b.denied ? b.denied(static_cast<std::size_t>(*top))
                     : json{{"interfaces", json::array()}});
}

} // namespace

std::vector<Route> state_routes(const ApiBackend &b) {
  const std::string p = kListPrefix;
  return {
      {"GET", p + "/status", Access::Read, {}, bound<status>(b)},
      {"GET", p + "/fleet", Access::Read, {}, bound<fleet>(b)},
      {"POST",
       p + "/activate",
       Access::Write,
       {"dry_run"},
       previewed(b, bound<activate>(b))},
      {"POST",
       p + "/deactivate",
       Access::Write,
       {"dry_run"},
       previewed(b, bound<deactivate>(b))},
      {"POST", p + "/confirm", Access::Write, {}, bound<confirm>(b)},
      {"GET", p + "/audit", Access::Read, {"offset", "limit"}, bound<audit>(b)},
      {"GET", p + "/denied", Access::Read, {"top", "follow"}, bound<denied>(b)},
  };
}

} // namespace xdpgate::api
