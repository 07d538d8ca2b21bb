// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/rules.hpp"

#include "list/change_plan.hpp"
#include "list/description.hpp"
#include "list/repeated_ranges.hpp"

#include <optional>
#include <utility>

namespace xdpgate {

namespace {

constexpr std::int64_t kMaxConfirmSeconds = 24 * 3600;

Status validate_description(const std::optional<std::string> &description,
                            const std::string &field) {
  if (!description)
    return {};
  if (auto why = description_error(*description))
    return Error{ErrorCode::InvalidDescription, field + ": " + *why, field};
  return {};
}

// An empty description means none.
std::optional<std::string>
non_empty(const std::optional<std::string> &description) {
  if (!description || description->empty())
    return std::nullopt;
  return *description;
}

} // namespace

Error not_found(const std::string &id) {
  return Error{ErrorCode::NotFound, "no allow-list entry has id " + id, "id"};
}

Result<Wanted> wanted(const NewEntry &in, const std::string &field) {
  Result<IpPrefix> range = IpPrefix::parse(in.ip_range, field + "ip_range");
  if (!range)
    return range.error();
  if (Status s = validate_description(in.description, field + "description");
      !s)
    return s.error();
  return Wanted{*range, non_empty(in.description), in.enabled, in.expires_at};
}

Result<std::vector<Wanted>> wanted_all(const std::vector<NewEntry> &entries,
                                       bool index_single) {
  auto field_of = [&](std::size_t i) {
    return entries.size() > 1 || index_single ? "[" + std::to_string(i) + "]."
                                              : std::string();
  };
  // The first error in request order: an entry that is invalid, or whose
  // range an earlier entry has.
  auto repeated =
      [&](const std::vector<Wanted> &valid) -> std::optional<Error> {
    std::vector<std::pair<IpPrefix, std::size_t>> places; // range, index
    places.reserve(valid.size());
    for (std::size_t i = 0; i < valid.size(); ++i)
      places.emplace_back(valid[i].range, i);
    const std::vector<RepeatedRange> repeats =
        repeated_ranges(std::move(places));
    if (repeats.empty())
      return std::nullopt;
    const RepeatedRange &twice = repeats.front();
    const std::string field = field_of(twice.place);
    return Error{ErrorCode::InvalidIpRange,
                 field + "ip_range: " + twice.range.to_string() +
                     " is listed twice (also as [" +
                     std::to_string(twice.first) + "]); give each range once",
                 field + "ip_range"};
  };
  std::vector<Wanted> out;
  out.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Result<Wanted> w = wanted(entries[i], field_of(i));
    if (!w)
      return repeated(out).value_or(w.error());
    out.push_back(std::move(*w));
  }
  if (std::optional<Error> twice = repeated(out))
    return *twice;
  return out;
}

Entry new_entry(Wanted &&w, const std::string &actor, EpochMs now) {
  Entry e;
  e.range = w.range;
  e.description = std::move(w.description);
  e.enabled = w.enabled.value_or(true);
  e.expires_at = w.expires_at.value_or(std::nullopt);
  e.created_by = actor;
  e.created_at = now;
  return e;
}

Entry upserted(const Entry &before, Wanted &&w) {
  Entry after = before;
  after.description = std::move(w.description);
  if (w.enabled)
    after.enabled = *w.enabled;
  if (w.expires_at)
    after.expires_at = *w.expires_at;
  return after;
}

Result<Entry> patched(const Entry &before, const EntryPatch &patch,
                      const ListIndex &index) {
  Entry after = before;
  if (patch.ip_range) {
    Result<IpPrefix> range = IpPrefix::parse(*patch.ip_range, "ip_range");
    if (!range)
      return range.error();
    if (auto other = index.find(*range);
        other != index.end() && other->first.view() != before.id)
      return Error{ErrorCode::RangeExists,
                   range->to_string() + " is already listed as " +
                       other->first.str() + "; update or delete that entry",
                   "ip_range"};
    after.range = *range;
  }
  if (patch.description) {
    if (Status s = validate_description(*patch.description, "description"); !s)
      return s.error();
    after.description = non_empty(*patch.description);
  }
  if (patch.enabled)
    after.enabled = *patch.enabled;
  if (patch.expires_at)
    after.expires_at = *patch.expires_at;
  return after;
}

Status keeps_an_enabled_entry(const StoreChange &change, const ListIndex &index,
                              const RestrictionState &state, bool force) {
  if (force || !state.active() || index.enabled() == 0 ||
      enabled_after(change, index) > 0)
    return {};
  return Error{ErrorCode::LastEnabledEntry,
               "this would leave no enabled entry while the restriction is "
               "active, so only exempt traffic would reach the host; "
               "deactivate first, or repeat with force=true"};
}

Result<RestrictionState> activated(const ActivateRequest &request,
                                   const RestrictionState &state,
                                   std::size_t enabled_entries, EpochMs now) {
  if (request.mode == Mode::Off)
    return Error{ErrorCode::InvalidValue,
                 "mode must be \"enforce\" or \"monitor\"", "mode"};
  if (!request.allow_empty && enabled_entries == 0)
    return Error{ErrorCode::EmptyList,
                 "the allow list has no enabled entry, so only exempt traffic "
                 "would reach the host; add your own range first, or pass "
                 "allow_empty=true if that is what you want"};
  RestrictionState next;
  next.mode = request.mode;
  if (request.confirm_within_s) {
    std::int64_t s = *request.confirm_within_s;
    if (s < 1 || s > kMaxConfirmSeconds)
      return Error{ErrorCode::InvalidValue,
                   "confirm_within_s must be between 1 and " +
                       std::to_string(kMaxConfirmSeconds),
                   "confirm_within_s"};
    next.confirm_deadline = now + s * 1000;
    // A second provisional activation still reverts to the confirmed mode.
    next.revert_mode = state.confirm_deadline ? state.revert_mode : state.mode;
  }
  return next;
}

Result<RestrictionState> confirmed(const RestrictionState &state) {
  if (!state.confirm_deadline)
    return Error{ErrorCode::NotPending,
                 "no activation is waiting for confirmation"};
  RestrictionState next = state;
  next.confirm_deadline.reset();
  next.revert_mode = Mode::Off;
  return next;
}

} // namespace xdpgate
