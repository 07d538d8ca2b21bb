// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The entry routes: /api/admin/ip-allowlist[/:id[/enable|/disable]],
// /check, /import and /export.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "api/entry_array.hpp"
#include "api/list_answers.hpp"
#include "api/list_input.hpp"
#include "api/preview.hpp"
#include "api/request.hpp"
#include "api/responses.hpp"
#include "api/routes.hpp"
#include "model/entry_json.hpp"
#include "model/verdicts.hpp"

namespace xdpgate::api {

namespace {

using nlohmann::json;

// A 64 MiB file of bad lines must not become a gigabyte of error report.
constexpr std::size_t kMaxReportedCsvLines = 1000;

// A page of the list: `limit` entries from `offset` in listing order (all
// of them without `limit`); `total` counts the whole list.
void list_entries(const ApiBackend &b, const Call &call, Response &res) {
  Result<bool> all = query_flag(call.http, "include_disabled");
  if (!all)
    return send_error(res, all.error());
  Result<std::int64_t> offset = query_int(call.http, "offset", 0, 0, INT64_MAX);
  if (!offset)
    return send_error(res, offset.error());
  Result<std::int64_t> limit =
      query_int(call.http, "limit", INT64_MAX, 1, INT64_MAX);
  if (!limit)
    return send_error(res, limit.error());
  auto snapshot = std::make_shared<const ListSnapshot>(
      b.list.snapshot(*all, static_cast<std::size_t>(*offset),
                      static_cast<std::size_t>(*limit)));
  RestrictionState state = b.list.state();
  const std::size_t total = snapshot->total(), count = snapshot->size();
  send_entries(res, count,
               [snapshot = std::move(snapshot)](std::size_t i) {
                 return snapshot->view(i);
               },
               {{"total", total},
                {"offset", *offset},
                {"restriction_active", state.active()},
                {"mode", to_string(state.mode)}});
}

void get_entry(const ApiBackend &b, const Call &call, Response &res) {
  Result<EntryView> view = b.list.get(call.params[0]);
  if (!view)
    return send_error(res, view.error());
  send_json(res, 200, to_json(*view));
}

// An object adds one entry, an array several; 201 when anything was created,
// 200 when every range was already listed (each then got the description
// sent, and the enabled and expires_at sent, if any: the answer shows the
// entry as it now is). force=true lets an upsert disable the last enabled
// entry.
void add_entries(const ApiBackend &b, const Call &call, Response &res) {
  Result<std::optional<json>> body = json_body(call.http, true);
  if (!body)
    return send_error(res, body.error());
  const json &in = **body;
  std::vector<NewEntry> entries;
  if (in.is_array()) {
    Result<std::vector<NewEntry>> many = new_entries_from(in);
    if (!many)
      return send_error(res, many.error());
    entries = std::move(*many);
  } else {
    Result<NewEntry> one = new_entry_from(in, "");
    if (!one)
      return send_error(res, one.error());
    entries.push_back(std::move(*one));
  }
  Result<bool> force = query_flag(call.http, "force");
  if (!force)
    return send_error(res, force.error());
  Result<std::vector<AddOutcome>> added =
      b.list.add(entries, call.actor, *force);
  if (!added)
    return send_error(res, added.error());
  bool created = std::any_of(added->begin(), added->end(),
                             [](const AddOutcome &o) { return o.created; });
  int status = created ? 201 : 200;
  if (!in.is_array())
    return send_json(res, status, to_json(added->front().view));
  json items = json::array();
  for (const AddOutcome &o : *added)
    items.push_back(to_json(o.view));
  send_json(res, status, {{"items", std::move(items)}});
}

void replace_entries(const ApiBackend &b, const Call &call, Response &res) {
  Result<bool> force = query_flag(call.http, "force");
  if (!force)
    return send_error(res, force.error());
  // A plain array of entries is read without a JSON tree; any other body
  // is parsed whole, to say what is wrong with it, and its tree is freed
  // before the replace.
  Result<std::vector<NewEntry>> entries =
      [&]() -> Result<std::vector<NewEntry>> {
    if (auto plain = plain_entry_array(call.http.body))
      return std::move(*plain);
    Result<std::optional<json>> body = json_body(call.http, true);
    if (!body)
      return body.error();
    return new_entries_from(**body);
  }();
  if (!entries)
    return send_error(res, entries.error());
  Result<std::vector<EntryView>> replaced =
      b.list.replace(std::move(*entries), call.actor, *force);
  if (!replaced)
    return send_error(res, replaced.error());
  auto views =
      std::make_shared<const std::vector<EntryView>>(std::move(*replaced));
  const std::size_t count = views->size();
  send_entries(res, count, [views](std::size_t i) { return (*views)[i]; },
               {{"total", count}});
}

void update_entry(const ApiBackend &b, const Call &call, Response &res) {
  Result<bool> force = query_flag(call.http, "force");
  if (!force)
    return send_error(res, force.error());
  Result<std::optional<json>> body = json_body(call.http, true);
  if (!body)
    return send_error(res, body.error());
  Result<EntryPatch> patch = patch_from(**body);
  if (!patch)
    return send_error(res, patch.error());
  Result<EntryView> view =
      b.list.update(call.params[0], *patch, call.actor, *force);
  if (!view)
    return send_error(res, view.error());
  send_json(res, 200, to_json(*view));
}

void delete_entry(const ApiBackend &b, const Call &call, Response &res) {
  Result<bool> force = query_flag(call.http, "force");
  if (!force)
    return send_error(res, force.error());
  if (Status s = no_body(call.http); !s)
    return send_error(res, s.error());
  const std::string &id = call.params[0];
  if (Status s = b.list.remove(id, call.actor, *force); !s)
    return send_error(res, s.error());
  send_json(res, 200, {{"deleted", true}, {"id", id}});
}

// A body here may be a client's idea of a bulk delete by id: refusing it
// keeps that from deleting everything.
void delete_all(const ApiBackend &b, const Call &call, Response &res) {
  if (Status s = no_body(call.http); !s)
    return send_error(res, s.error());
  std::size_t count = b.list.total_count();
  if (Status s = b.list.remove_all(call.actor); !s)
    return send_error(res, s.error());
  send_json(res, 200, {{"deleted", count}, {"restriction_active", false}});
}

void set_enabled(const ApiBackend &b, const Call &call, Response &res,
                 bool enabled) {
  Result<bool> force = query_flag(call.http, "force");
  if (!force)
    return send_error(res, force.error());
  if (Status s = no_body(call.http); !s)
    return send_error(res, s.error());
  Result<EntryView> view =
      b.list.set_enabled(call.params[0], enabled, call.actor, *force);
  if (!view)
    return send_error(res, view.error());
  const Entry &e = view->entry;
  send_json(res, 200,
            {{"id", e.id},
             {"enabled", e.enabled},
             {enabled ? "enabled_at" : "disabled_at",
              e.updated_at ? json(*e.updated_at) : json(nullptr)}});
}

void enable_entry(const ApiBackend &b, const Call &call, Response &res) {
  set_enabled(b, call, res, true);
}

void disable_entry(const ApiBackend &b, const Call &call, Response &res) {
  set_enabled(b, call, res, false);
}

void check_address(const ApiBackend &b, const Call &call, Response &res) {
  Result<std::optional<json>> body = json_body(call.http, true);
  if (!body)
    return send_error(res, body.error());
  Result<std::string> text = address_from(**body);
  if (!text)
    return send_error(res, text.error());
  Result<IpPrefix> address = IpPrefix::parse_address(*text);
  if (!address)
    return send_error(res, address.error());
  CheckResult r = b.list.check(*address);
  send_json(res, 200,
            {{"ip_address", r.address.to_string()},
             {"mode", to_string(r.mode)},
             {"verdict", kVerdictNames[r.verdict]},
             {"allowed", r.allowed},
             {"matched_entry",
              r.matched_entry ? to_json(*r.matched_entry) : json(nullptr)},
             {"restriction_active", r.restriction_active},
             {"total_entries", r.total_entries}});
}

void import_csv(const ApiBackend &b, const Call &call, Response &res) {
  Result<bool> dry_run = query_flag(call.http, "dry_run");
  if (!dry_run)
    return send_error(res, dry_run.error());
  Result<bool> replace = query_flag(call.http, "replace");
  if (!replace)
    return send_error(res, replace.error());
  Result<bool> force = query_flag(call.http, "force");
  if (!force)
    return send_error(res, force.error());
  // A dry run is previewed() around this handler; the answer says which.
  Result<ImportReport> report =
      b.list.import_csv(call.http.body, *replace, call.actor, *force);
  if (!report)
    return send_error(res, report.error());
  if (!report->errors.empty()) {
    const std::size_t bad = report->errors.size();
    json lines = json::array();
    for (std::size_t i = 0; i < std::min(bad, kMaxReportedCsvLines); ++i)
      lines.push_back({{"line", report->errors[i].line},
                       {"message", report->errors[i].message}});
    std::string message = std::to_string(bad) +
                          (bad == 1 ? " line is" : " lines are") +
                          " invalid; nothing was imported";
    if (bad > kMaxReportedCsvLines)
      message += " (the first " + std::to_string(kMaxReportedCsvLines) +
                 " are listed)";
    return send_error(res, {ErrorCode::InvalidCsv, message},
                      {{"lines", lines}});
  }
  const ChangeSummary &s = report->summary;
  send_json(res, 200,
            {{"dry_run", *dry_run},
             {"replace", report->replace},
             {"added", s.added.first},
             {"updated", s.updated.first},
             {"removed", s.removed.first},
             {"unchanged", s.unchanged.count},
             {"counts",
              {{"added", s.added.count},
               {"updated", s.updated.count},
               {"removed", s.removed.count},
               {"unchanged", s.unchanged.count}}}});
}

void export_csv(const ApiBackend &b, const Call &, Response &res) {
  send_csv_export(
      res, std::make_shared<const ListSnapshot>(b.list.export_snapshot()));
}

} // namespace

std::vector<Route> list_routes(const ApiBackend &b) {
  const std::string p = kListPrefix;
  const std::string id = p + "/:id";
  return {
      {"POST", p + "/check", Access::Read, {}, bound<check_address>(b)},
      {"POST",
       p + "/import",
       Access::Write,
       {"dry_run", "replace", "force"},
       previewed(b, bound<import_csv>(b)),
       true,
       BodyType::Csv},
      {"GET", p + "/export", Access::Read, {}, bound<export_csv>(b)},
      {"GET",
       p,
       Access::Read,
       {"include_disabled", "offset", "limit"},
       bound<list_entries>(b)},
      {"POST",
       p,
       Access::Write,
       {"force", "dry_run"},
       previewed(b, bound<add_entries>(b)),
       true},
      {"PUT",
       p,
       Access::Write,
       {"force", "dry_run"},
       previewed(b, bound<replace_entries>(b)),
       true},
      {"DELETE",
       p,
       Access::Write,
       {"dry_run"},
       previewed(b, bound<delete_all>(b))},
      {"GET", id, Access::Read, {}, bound<get_entry>(b)},
      {"PATCH",
       id,
       Access::Write,
       {"force", "dry_run"},
       previewed(b, bound<update_entry>(b))},
      {"DELETE",
       id,
       Access::Write,
       {"force", "dry_run"},
       previewed(b, bound<delete_entry>(b))},
      {"POST",
       id + "/enable",
       Access::Write,
       {"dry_run"},
       previewed(b, bound<enable_entry>(b))},
      {"POST",
       id + "/disable",
       Access::Write,
       {"force", "dry_run"},
       previewed(b, bound<disable_entry>(b))},
  };
}

} // namespace xdpgate::api
