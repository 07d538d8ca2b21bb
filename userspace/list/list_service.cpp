// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/list_service.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <malloc.h>
#include <map>
#include <memory_resource>
#include <random>
#include <sys/random.h>
#include <unordered_map>
#include <unordered_set>

#include "list/bulk_audit.hpp"
#include "list/description.hpp"
#include "list/entry_json.hpp"

namespace xdpgate {

namespace {

constexpr const char *kSystemActor = "xdpgated";
constexpr std::int64_t kMaxConfirmSeconds = 24 * 3600;
// After a change of this many entries the heap goes back to the system.
constexpr std::size_t kLargeChange = 10000;
// In an add, an upsert that replaces no entry.
constexpr std::size_t kAdds = static_cast<std::size_t>(-1);

// Entry ids from random bytes read in blocks: a million-entry import makes
// a few hundred getrandom calls instead of a million.
class IdSource {
public:
  std::string next() {
    static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string id = "ip_";
    for (int i = 0; i < 10; ++i)
      id += kAlphabet[byte() % 36];
    return id;
  }

private:
  unsigned char byte() {
    if (used_ == sizeof(pool_))
      refill();
    return pool_[used_++];
  }
  void refill() {
    if (getrandom(pool_, sizeof(pool_), 0) != sizeof(pool_)) {
      std::random_device fallback;
      for (unsigned char &b : pool_)
        b = static_cast<unsigned char>(fallback());
    }
    used_ = 0;
  }
  unsigned char pool_[4096];
  std::size_t used_ = sizeof(pool_);
};

Error not_found(const std::string &id) {
  return Error{"not_found", "no allow-list entry has id " + id, "id"};
}

Error last_enabled_entry() {
  return Error{"last_enabled_entry",
               "this would leave no enabled entry while the restriction is "
               "active, so only exempt traffic would reach the host; "
               "deactivate first, or repeat with force=true"};
}

Status validate_description(const std::optional<std::string> &description,
                            const std::string &field) {
  if (!description)
    return {};
  if (auto why = description_error(*description))
    return Error{"invalid_description", field + ": " + *why, field};
  return {};
}

// Declared first in an operation, so that it runs once the operation's
// temporaries are freed: after a large change the heap goes back to the
// system instead of keeping the daemon at its peak size.
struct ReleaseMemoryAfter {
  explicit ReleaseMemoryAfter(std::size_t n = 0) : entries(n) {}
  std::size_t entries;
  ReleaseMemoryAfter(const ReleaseMemoryAfter &) = delete;
  ReleaseMemoryAfter &operator=(const ReleaseMemoryAfter &) = delete;
  ~ReleaseMemoryAfter() {
    if (entries >= kLargeChange)
      malloc_trim(0);
  }
};

std::string json_text(const std::optional<Entry> &entry) {
  return entry ? to_json(*entry).dump() : std::string();
}

// An entry id in 16 bytes, with no heap block: ids are "ip_" and 10
// characters.
struct EntryId {
  static constexpr std::size_t kMax = 15;
  std::array<char, kMax> text{};
  std::uint8_t size = 0;

  static std::optional<EntryId> of(std::string_view id) {
    if (id.size() > kMax)
      return std::nullopt;
    EntryId out;
    std::copy(id.begin(), id.end(), out.text.begin());
    out.size = static_cast<std::uint8_t>(id.size());
    return out;
  }
  std::string_view view() const { return {text.data(), size}; }
  std::string str() const { return std::string(view()); }
  bool operator==(const EntryId &) const = default;
};

struct EntryIdHash {
  std::size_t operator()(const EntryId &id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};

constexpr EpochMs kNoTime = std::numeric_limits<EpochMs>::min();

EpochMs time_or_none(const std::optional<EpochMs> &t) {
  return t.value_or(kNoTime);
}

std::optional<EpochMs> optional_time(EpochMs t) {
  return t == kNoTime ? std::nullopt : std::optional(t);
}

} // namespace

struct ListService::Impl {
  mutable std::mutex mutex;
  Store store;
  KernelSync sync;
  HitReader hits;
  KernelLookup lookup;
  Clock clock;

  // An entry as the list holds it, ~130 bytes with its indexes instead of
  // ~330 for a full Entry (a million-entry list): the creator is interned,
  // no time is optional, no description is empty. `position` is its place
  // in the listing order: the store's order at start, then order of
  // insertion, so entries added in one request keep their request (or
  // file) order.
  struct Listed {
    IpPrefix range;
    bool enabled = true;
    std::uint32_t creator = 0; // index into `creators`
    EpochMs created_at = 0;
    EpochMs updated_at = kNoTime;
    EpochMs expires_at = kNoTime;
    std::string description; // empty: none
    std::uint64_t position = 0;
  };
  // Both indexes allocate from one pool: a million nodes packed in large
  // blocks, without malloc's header on each, and not interleaved with an
  // import's temporaries (which then go back to the system whole).
  std::pmr::unsynchronized_pool_resource pool;
  std::pmr::unordered_map<EntryId, Listed, EntryIdHash> by_id{&pool};
  std::pmr::unordered_map<IpPrefix, EntryId> by_range{&pool};
  std::vector<std::string> creators;
  std::unordered_map<std::string, std::uint32_t> creator_index;
  std::uint64_t next_position = 0;
  RestrictionState state;
  std::size_t enabled = 0;  // entries that are enabled
  std::size_t expiring = 0; // enabled entries with an expiry time
  IdSource ids;

  Impl(Store s, KernelSync k, HitReader h, KernelLookup l, Clock c)
      : store(std::move(s)), sync(std::move(k)), hits(std::move(h)),
        lookup(std::move(l)), clock(std::move(c)) {}

  std::uint32_t intern(const std::string &creator) {
    auto [it, fresh] = creator_index.try_emplace(
        creator, static_cast<std::uint32_t>(creators.size()));
    if (fresh)
      creators.push_back(creator);
    return it->second;
  }

  Entry entry_of(const EntryId &id, const Listed &l) const {
    Entry e;
    e.id = id.str();
    e.range = l.range;
    if (!l.description.empty())
      e.description = l.description;
    e.enabled = l.enabled;
    e.created_by = creators[l.creator];
    e.created_at = l.created_at;
    e.updated_at = optional_time(l.updated_at);
    e.expires_at = optional_time(l.expires_at);
    return e;
  }

  // Fills `l` from `e`, keeping its position.
  void store_into(Listed &l, Entry &&e) {
    l.range = e.range;
    l.enabled = e.enabled;
    l.creator = intern(e.created_by);
    l.created_at = e.created_at;
    l.updated_at = time_or_none(e.updated_at);
    l.expires_at = time_or_none(e.expires_at);
    l.description = e.description ? std::move(*e.description) : std::string();
  }

  using Iter = decltype(by_id)::const_iterator;
  Iter find(std::string_view id) const {
    auto key = EntryId::of(id);
    return key ? by_id.find(*key) : by_id.end();
  }
  Entry entry_at(std::string_view id) const {
    auto it = find(id);
    return entry_of(it->first, it->second);
  }
  Entry entry_at(Iter it) const { return entry_of(it->first, it->second); }

  EntryView view(Iter it) const { return view(entry_at(it)); }

  EntryView view(const Entry &entry) const {
    EntryView v{entry, 0, std::nullopt};
    if (entry.enabled)
      if (auto h = hits(entry.range)) {
        v.hits = h->first;
        if (h->second > 0)
          v.last_hit_at = h->second;
      }
    return v;
  }

  // What `change` does to the kernel. Every range an entry of the change
  // had leaves, every range it will have enters: AllowListChange turns a
  // range that leaves and enters again into no kernel work.
  KernelChange kernel_change(const StoreChange &change, Mode mode) const {
    KernelChange k;
    k.mode = mode;
    k.allow.atomic = change.replace_all;
    auto leaves = [&](const Listed &l) {
      if (l.enabled)
        k.allow.removed.push_back(l.range);
    };
    if (change.replace_all) {
      for (const auto &[id, listed] : by_id)
        leaves(listed);
    } else {
      for (const std::string &id : change.deletes)
        if (auto it = find(id); it != by_id.end())
          leaves(it->second);
      for (const Entry &e : change.upserts)
        if (auto it = find(e.id); it != by_id.end())
          leaves(it->second);
    }
    for (const Entry &e : change.upserts)
      if (e.enabled)
        k.allow.added.push_back(e.range);
    return k;
  }

  static KernelChange inverse(KernelChange change, Mode mode) {
    std::swap(change.allow.added, change.allow.removed);
    change.mode = mode;
    return change;
  }

  // Enabled entries once `change` is applied (its ids are distinct).
  std::size_t enabled_after(const StoreChange &change) const {
    std::size_t n = change.replace_all ? 0 : enabled;
    auto was_enabled = [&](const std::string &id) {
      auto it = find(id);
      return !change.replace_all && it != by_id.end() && it->second.enabled;
    };
    for (const std::string &id : change.deletes)
      n -= was_enabled(id);
    for (const Entry &e : change.upserts)
      n = n - was_enabled(e.id) + e.enabled;
    return n;
  }

  void forget(Iter it) {
    count(it->second, -1);
    by_range.erase(it->second.range);
    by_id.erase(it);
  }

  // Keeps the counters that spare a walk over the whole list.
  void count(const Listed &l, int sign) {
    if (!l.enabled)
      return;
    enabled += sign;
    if (l.expires_at != kNoTime)
      expiring += sign;
  }

  // Durable and enforced, or neither.
  // Takes the change: its entries move into the list once committed.
  Status commit(StoreChange change) {
    RestrictionState next_state = change.state.value_or(state);
    KernelChange kernel = kernel_change(change, next_state.mode);
    Status done = store.apply(change, [&] { return sync(kernel); });
    if (!done) {
      (void)sync(inverse(std::move(kernel), state.mode)); // undo a partial one
      return done;
    }
    if (change.replace_all) {
      by_id = decltype(by_id)(&pool);
      by_range = decltype(by_range)(&pool);
      pool.release();
      enabled = expiring = 0;
    }
    for (const std::string &id : change.deletes)
      if (auto it = find(id); it != by_id.end())
        forget(it);
    by_id.reserve(by_id.size() + change.upserts.size());
    by_range.reserve(by_range.size() + change.upserts.size());
    for (Entry &e : change.upserts) {
      // Ids are checked when they enter the change (fresh_ids, the store).
      EntryId id = *EntryId::of(e.id);
      auto [it, fresh] = by_id.try_emplace(id);
      if (fresh) {
        it->second.position = next_position++;
      } else {
        count(it->second, -1);
        by_range.erase(it->second.range);
      }
      by_range[e.range] = id;
      store_into(it->second, std::move(e));
      count(it->second, +1);
    }
    state = next_state;
    if (change.upserts.size() + change.deletes.size() >= kLargeChange)
      store.release_memory();
    return {};
  }

  AuditRecord audit(const std::string &actor, const std::string &action,
                    const std::string &entry_id,
                    const std::optional<Entry> &before,
                    const std::optional<Entry> &after) const {
    return AuditRecord{0,        clock(),           actor,           action,
                       entry_id, json_text(before), json_text(after)};
  }

  AuditRecord state_audit(const std::string &actor, const std::string &action,
                          const RestrictionState &after) const {
    return AuditRecord{0,
                       clock(),
                       actor,
                       action,
                       "",
                       to_json(state).dump(),
                       to_json(after).dump()};
  }

  // Refuses a change that leaves an active restriction with no enabled entry.
  Status check_keeps_an_enabled_entry(const StoreChange &change,
                                      bool force) const {
    if (force || !state.active() || enabled == 0 || enabled_after(change) > 0)
      return {};
    return last_enabled_entry();
  }

  // A range and what an add or an import sets on it, validated.
  struct Wanted {
    IpPrefix range;
    std::optional<std::string> description; // never empty
    bool enabled = true;
    std::optional<EpochMs> expires_at;
  };
  Result<Wanted> wanted(const NewEntry &in, const std::string &field) const {
    Result<IpPrefix> range = IpPrefix::parse(in.ip_range, field + "ip_range");
    if (!range)
      return range.error();
    if (Status s = validate_description(in.description, field + "description");
        !s)
      return s.error();
    Wanted w{*range, in.description, in.enabled, in.expires_at};
    if (w.description && w.description->empty())
      w.description.reset();
    return w;
  }

  // A new entry (a replace) from what the request sets, validated as wanted().
  Result<Entry> new_entry(const NewEntry &in, const std::string &field,
                          const std::string &actor) const {
    Result<Wanted> w = wanted(in, field);
    if (!w)
      return w.error();
    Entry e;
    e.range = w->range;
    e.description = std::move(w->description);
    e.enabled = w->enabled;
    e.expires_at = w->expires_at;
    e.created_by = actor;
    e.created_at = clock();
    return e;
  }

  // How an add is audited: a record per entry (API calls), or as a bulk
  // change (list/bulk_audit.hpp) listing every entry the import adds or
  // updates with its state before and after.
  enum class AuditStyle { PerEntry, Import };
  struct AddOptions {
    AuditStyle audit = AuditStyle::PerEntry;
    bool distinct = false; // no range twice in the request (a parsed CSV)
    bool placed = true;    // report each request entry's id
  };
  Result<std::vector<std::pair<std::string, bool>>>
  add(std::vector<Wanted> wanted, const std::string &actor, AddOptions how);
  Result<std::vector<std::string>> replace(const std::vector<NewEntry> &entries,
                                           const std::string &actor,
                                           bool force);

  // `n` fresh ids, distinct and unused in the list, in ascending order: the
  // store's index of ids then takes a large import's rows in key order.
  std::vector<std::string> fresh_ids(std::size_t n) {
    std::vector<std::string> out(n);
    for (std::string &id : out)
      id = ids.next();
    for (;;) {
      std::sort(out.begin(), out.end());
      bool clash = false;
      for (std::size_t k = 0; k < n; ++k)
        if ((k > 0 && out[k] == out[k - 1]) || find(out[k]) != by_id.end()) {
          out[k] = ids.next();
          clash = true;
        }
      if (!clash)
        return out;
    }
  }
};

ListService::~ListService() = default;

ListService::ListService(Store store, KernelSync sync, HitReader hits,
                         KernelLookup lookup, Clock clock)
    : impl_(std::make_unique<Impl>(std::move(store), std::move(sync),
                                   std::move(hits), std::move(lookup),
                                   std::move(clock))) {}

Result<std::unique_ptr<ListService>>
ListService::open(Store store, KernelSync sync, HitReader hits,
                  KernelLookup lookup, Clock clock) {
  ReleaseMemoryAfter release;
  Result<std::vector<Entry>> entries = store.entries();
  if (!entries)
    return entries.error();
  release.entries = entries->size();
  Result<RestrictionState> state = store.state();
  if (!state)
    return state.error();
  std::unique_ptr<ListService> service(
      new ListService(std::move(store), std::move(sync), std::move(hits),
                      std::move(lookup), std::move(clock)));
  Impl &impl = *service->impl_;
  KernelChange whole;
  whole.mode = state->mode;
  whole.whole_list = true;
  impl.by_id.reserve(entries->size());
  impl.by_range.reserve(entries->size());
  for (Entry &e : *entries) {
    auto id = EntryId::of(e.id);
    if (!id)
      return Error{"store_corrupt",
                   "the store holds an entry id longer than " +
                       std::to_string(EntryId::kMax) + " characters (" + e.id +
                       "), which no xdpgate makes; restore a backup"};
    if (e.enabled)
      whole.allow.added.push_back(e.range);
    impl.by_range[e.range] = *id;
    Impl::Listed &l = impl.by_id[*id];
    l.position = impl.next_position++;
    impl.store_into(l, std::move(e));
    impl.count(l, +1);
  }
  entries = std::vector<Entry>();
  impl.state = *state;
  if (Status s = impl.sync(whole); !s)
    return s.error();
  if (release.entries >= kLargeChange)
    impl.store.release_memory();
  return service;
}

std::vector<EntryView> ListService::list(bool include_disabled) const {
  std::lock_guard lock(impl_->mutex);
  using Iter = Impl::Iter;
  std::vector<Iter> chosen;
  for (auto it = impl_->by_id.cbegin(); it != impl_->by_id.cend(); ++it)
    if (include_disabled || it->second.enabled)
      chosen.push_back(it);
  std::sort(chosen.begin(), chosen.end(), [](Iter a, Iter b) {
    return a->second.position < b->second.position;
  });
  std::vector<EntryView> out;
  out.reserve(chosen.size());
  for (Iter it : chosen)
    out.push_back(impl_->view(it));
  return out;
}

Result<EntryView> ListService::get(const std::string &id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->find(id);
  if (it == impl_->by_id.end())
    return not_found(id);
  return impl_->view(it);
}

// The ids of the entries, in request order, and whether each was created
// (empty unless `how.placed`).
Result<std::vector<std::pair<std::string, bool>>>
ListService::Impl::add(std::vector<Wanted> wanted, const std::string &actor,
                       AddOptions how) {
  const EpochMs now = clock();
  // The same range again in this request: its first place keeps the
  // entry, and the later description wins.
  std::vector<std::size_t> first_of;
  if (!how.distinct) {
    std::unordered_map<IpPrefix, std::size_t> first;
    first.reserve(wanted.size());
    first_of.resize(wanted.size());
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      auto [it, fresh] = first.try_emplace(wanted[i].range, i);
      first_of[i] = it->second;
      if (!fresh)
        wanted[it->second].description = wanted[i].description;
    }
  }
  StoreChange change;
  // What each upsert replaces, for the audit: its place in `replaced`, or
  // kAdds.
  std::vector<Entry> replaced;
  std::vector<std::size_t> before_of;
  // New entries: their place in the upserts and in the request.
  std::vector<std::pair<std::size_t, std::size_t>> created;
  std::vector<std::pair<std::string, bool>> placed;
  // A million-entry import must not pay for growing these step by step.
  change.upserts.reserve(wanted.size());
  before_of.reserve(wanted.size());
  created.reserve(wanted.size());
  if (how.placed)
    placed.resize(wanted.size());
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (!how.distinct && first_of[i] != i)
      continue;
    Wanted &w = wanted[i];
    if (auto listed = by_range.find(w.range); listed != by_range.end()) {
      // Upsert: the listed entry keeps everything but its description.
      // Re-adding it unchanged is not a change: nothing to write, audit or
      // sync (re-importing a whole file stays cheap).
      const Listed &stored = by_id.at(listed->second);
      if (how.placed)
        placed[i] = {listed->second.str(), false};
      if (stored.description == w.description.value_or(std::string()))
        continue;
      Entry updated = entry_of(listed->second, stored);
      before_of.push_back(replaced.size());
      replaced.push_back(updated);
      updated.description = std::move(w.description);
      updated.updated_at = now;
      change.upserts.push_back(std::move(updated));
      continue;
    }
    Entry e;
    e.range = w.range;
    e.description = std::move(w.description);
    e.enabled = w.enabled;
    e.expires_at = w.expires_at;
    e.created_by = actor;
    e.created_at = now;
    created.emplace_back(change.upserts.size(), i);
    before_of.push_back(kAdds);
    change.upserts.push_back(std::move(e));
  }
  std::vector<std::string> ids = fresh_ids(created.size());
  for (std::size_t k = 0; k < created.size(); ++k) {
    auto [upsert, request] = created[k];
    change.upserts[upsert].id = std::move(ids[k]);
    if (how.placed)
      placed[request] = {change.upserts[upsert].id, true};
  }
  created = {};
  if (how.placed && !how.distinct)
    for (std::size_t i = 0; i < wanted.size(); ++i)
      placed[i] = placed[first_of[i]];
  if (change.upserts.empty())
    return placed;
  if (how.audit == AuditStyle::Import) {
    BulkAudit bulk("import", actor, now);
    for (std::size_t k = 0; k < change.upserts.size(); ++k) {
      if (before_of[k] != kAdds)
        bulk.updated(replaced[before_of[k]], change.upserts[k]);
      else
        bulk.added(change.upserts[k]);
    }
    std::move(bulk).write_to(change.audit);
  } else {
    change.audit.reserve(change.upserts.size());
    for (std::size_t k = 0; k < change.upserts.size(); ++k) {
      const Entry &after = change.upserts[k];
      std::optional<Entry> before;
      if (before_of[k] != kAdds)
        before = replaced[before_of[k]];
      change.audit.push_back(
          audit(actor, before ? "update" : "add", after.id, before, after));
    }
  }
  replaced = {};
  before_of = {};
  if (Status s = commit(std::move(change)); !s)
    return s.error();
  return placed;
}

Result<std::vector<AddOutcome>>
ListService::add(const std::vector<NewEntry> &entries,
                 const std::string &actor) {
  ReleaseMemoryAfter release{entries.size()};
  std::vector<Impl::Wanted> wanted;
  wanted.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string field =
        entries.size() > 1 ? "[" + std::to_string(i) + "]." : "";
    Result<Impl::Wanted> w = impl_->wanted(entries[i], field);
    if (!w)
      return w.error();
    wanted.push_back(std::move(*w));
  }
  std::lock_guard lock(impl_->mutex);
  auto placed = impl_->add(std::move(wanted), actor, {});
  if (!placed)
    return placed.error();
  std::vector<AddOutcome> out;
  out.reserve(placed->size());
  for (const auto &[id, created] : *placed)
    out.push_back({impl_->view(impl_->find(id)), created});
  return out;
}

// The ids of the new list, in request order.
Result<std::vector<std::string>>
ListService::Impl::replace(const std::vector<NewEntry> &entries,
                           const std::string &actor, bool force) {
  Impl &impl = *this;
  StoreChange change;
  change.replace_all = true;
  BulkAudit bulk("replace", actor, impl.clock(),
                 {{"entries", impl.by_id.size()}},
                 {{"entries", entries.size()}}); // none is there twice
  std::unordered_map<IpPrefix, std::size_t> in_change;
  std::vector<std::size_t> created; // upserts that need an id
  change.upserts.reserve(entries.size());
  in_change.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Result<Entry> fresh =
        impl.new_entry(entries[i], "[" + std::to_string(i) + "].", actor);
    if (!fresh)
      return fresh.error();
    Entry e = std::move(fresh.value());
    if (in_change.count(e.range))
      return Error{"invalid_ip_range",
                   "[" + std::to_string(i) + "].ip_range: " +
                       e.range.to_string() + " is listed twice",
                   "[" + std::to_string(i) + "].ip_range"};
    if (auto listed = impl.by_range.find(e.range);
        listed != impl.by_range.end()) {
      // An entry that stays keeps its id, creator and counters.
      const Entry before =
          impl.entry_of(listed->second, impl.by_id.at(listed->second));
      Entry kept = before;
      kept.description = e.description;
      kept.enabled = e.enabled;
      kept.expires_at = e.expires_at;
      if (!(kept == before)) {
        kept.updated_at = impl.clock();
        bulk.updated(before, kept);
      }
      e = std::move(kept);
    } else {
      created.push_back(change.upserts.size());
    }
    in_change[e.range] = change.upserts.size();
    change.upserts.push_back(std::move(e));
  }
  std::vector<std::string> fresh = impl.fresh_ids(created.size());
  for (std::size_t k = 0; k < created.size(); ++k)
    change.upserts[created[k]].id = std::move(fresh[k]);
  if (Status s = impl.check_keeps_an_enabled_entry(change, force); !s)
    return s.error();
  for (std::size_t k : created)
    bulk.added(change.upserts[k]);
  for (auto it = impl.by_id.begin(); it != impl.by_id.end(); ++it)
    if (!in_change.count(it->second.range))
      bulk.removed(impl.entry_at(it));
  std::move(bulk).write_to(change.audit);
  std::vector<std::string> ids;
  ids.reserve(change.upserts.size());
  for (const Entry &e : change.upserts)
    ids.push_back(e.id);
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return ids;
}

Result<std::vector<EntryView>>
ListService::replace(const std::vector<NewEntry> &entries,
                     const std::string &actor, bool force) {
  ReleaseMemoryAfter release{entries.size()};
  std::lock_guard lock(impl_->mutex);
  auto ids = impl_->replace(entries, actor, force);
  if (!ids)
    return ids.error();
  std::vector<EntryView> out;
  out.reserve(ids->size());
  for (const std::string &id : *ids)
    out.push_back(impl_->view(impl_->find(id)));
  return out;
}

Result<EntryView> ListService::update(const std::string &id,
                                      const EntryPatch &patch,
                                      const std::string &actor, bool force) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  auto it = impl.find(id);
  if (it == impl.by_id.end())
    return not_found(id);
  const Entry before = impl.entry_at(it);
  Entry after = before;
  if (patch.ip_range) {
    Result<IpPrefix> range = IpPrefix::parse(*patch.ip_range, "ip_range");
    if (!range)
      return range.error();
    if (auto other = impl.by_range.find(*range);
        other != impl.by_range.end() && other->second.view() != id)
      return Error{"range_exists",
                   range->to_string() + " is already listed as " +
                       other->second.str() + "; update or delete that entry",
                   "ip_range"};
    after.range = *range;
  }
  if (patch.description) {
    if (Status s = validate_description(*patch.description, "description"); !s)
      return s.error();
    after.description = *patch.description;
    if (after.description && after.description->empty())
      after.description.reset();
  }
  if (patch.enabled)
    after.enabled = *patch.enabled;
  if (patch.expires_at)
    after.expires_at = *patch.expires_at;
  if (after == before)
    return impl.view(before);
  after.updated_at = impl.clock();
  StoreChange change;
  change.upserts.push_back(after);
  if (Status s = impl.check_keeps_an_enabled_entry(change, force); !s)
    return s.error();
  change.audit.push_back(impl.audit(actor, "update", id, before, after));
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return impl.view(impl.find(id));
}

Status ListService::remove(const std::string &id, const std::string &actor,
                           bool force) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  auto it = impl.find(id);
  if (it == impl.by_id.end())
    return not_found(id);
  StoreChange change;
  change.deletes.push_back(id);
  if (Status s = impl.check_keeps_an_enabled_entry(change, force); !s)
    return s;
  change.audit.push_back(
      impl.audit(actor, "delete", id, impl.entry_at(it), std::nullopt));
  return impl.commit(std::move(change));
}

Status ListService::remove_all(const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  StoreChange change;
  change.replace_all = true;
  change.state = RestrictionState{};
  BulkAudit bulk(
      "delete_all", actor, impl.clock(),
      {{"entries", impl.by_id.size()}, {"state", to_json(impl.state)}},
      {{"entries", 0}, {"state", to_json(*change.state)}});
  for (auto it = impl.by_id.begin(); it != impl.by_id.end(); ++it)
    bulk.removed(impl.entry_at(it));
  std::move(bulk).write_to(change.audit);
  return impl.commit(std::move(change));
}

Result<EntryView> ListService::set_enabled(const std::string &id, bool enabled,
                                           const std::string &actor,
                                           bool force) {
  EntryPatch patch;
  patch.enabled = enabled;
  return update(id, patch, actor, force);
}

CheckResult ListService::check(const IpPrefix &address) const {
  std::lock_guard lock(impl_->mutex);
  const Impl &impl = *impl_;
  CheckResult result;
  result.address = address;
  result.restriction_active = impl.state.active();
  result.total_entries = impl.by_id.size();
  if (!impl.state.active())
    return result;
  std::optional<IpPrefix> matched = impl.lookup(address);
  result.allowed = matched.has_value();
  if (matched)
    if (auto id = impl.by_range.find(*matched); id != impl.by_range.end())
      result.matched_entry = impl.view(impl.by_id.find(id->second));
  return result;
}

Result<ImportReport> ListService::import_csv(std::string_view text,
                                             bool dry_run, bool replace,
                                             const std::string &actor,
                                             bool force) {
  ReleaseMemoryAfter release;
  ImportReport report;
  report.dry_run = dry_run;
  report.replace = replace;
  CsvParseResult parsed = parse_allowlist_csv(text);
  release.entries = parsed.rows.size();
  if (!parsed.errors.empty()) {
    report.errors = std::move(parsed.errors);
    return report;
  }
  // Rows are valid and distinct (the parser checked): an add takes them as
  // they are; a replace goes through the checks every replace makes.
  std::vector<Impl::Wanted> wanted;
  std::vector<NewEntry> replacing;
  if (replace)
    replacing.reserve(parsed.rows.size());
  else
    wanted.reserve(parsed.rows.size());
  {
    std::lock_guard lock(impl_->mutex);
    const Impl &impl = *impl_;
    std::unordered_set<IpPrefix> in_file;
    if (replace)
      in_file.reserve(parsed.rows.size());
    for (CsvRow &row : parsed.rows) {
      if (replace)
        in_file.insert(row.range);
      std::string range = row.range.to_string();
      auto listed = impl.by_range.find(row.range);
      const Impl::Listed *stored = listed == impl.by_range.end()
                                       ? nullptr
                                       : &impl.by_id.at(listed->second);
      if (!stored)
        report.summary.added.push_back(std::move(range));
      else if (stored->description != row.description.value_or(std::string()))
        report.summary.updated.push_back(std::move(range));
      else
        report.summary.unchanged.push_back(std::move(range));
      if (!replace) {
        wanted.push_back({row.range, std::move(row.description), true, {}});
        continue;
      }
      NewEntry e;
      e.ip_range = row.range.to_string();
      e.description = std::move(row.description);
      if (stored) {
        // Replace keeps an entry's other fields when its range stays.
        e.enabled = stored->enabled;
        e.expires_at = optional_time(stored->expires_at);
      }
      replacing.push_back(std::move(e));
    }
    if (replace)
      for (const auto &[range, id] : impl.by_range)
        if (!in_file.count(range))
          report.summary.removed.push_back(range.to_string());
  }
  parsed = {};
  if (dry_run)
    return report;
  std::lock_guard lock(impl_->mutex);
  if (replace) {
    auto done = impl_->replace(replacing, actor, force);
    if (!done)
      return done.error();
  } else if (!wanted.empty()) {
    auto done = impl_->add(std::move(wanted), actor,
                           {Impl::AuditStyle::Import, true, false});
    if (!done)
      return done.error();
  }
  return report;
}

std::string ListService::export_csv() const {
  std::vector<CsvExportRow> rows;
  for (const EntryView &v : list(true))
    rows.push_back({v.entry.range, v.entry.description, v.entry.enabled,
                    v.entry.expires_at});
  return format_allowlist_csv(rows);
}

Result<RestrictionState> ListService::activate(const ActivateRequest &request,
                                               const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  if (request.mode == Mode::Off)
    return Error{"invalid_value", "mode must be \"enforce\" or \"monitor\"",
                 "mode"};
  if (!request.allow_empty && impl.enabled == 0)
    return Error{"empty_list",
                 "the allow list has no enabled entry, so only exempt traffic "
                 "would reach the host; add your own range first, or pass "
                 "allow_empty=true if that is what you want"};
  RestrictionState next;
  next.mode = request.mode;
  if (request.confirm_within_s) {
    std::int64_t s = *request.confirm_within_s;
    if (s < 1 || s > kMaxConfirmSeconds)
      return Error{"invalid_value",
                   "confirm_within_s must be between 1 and " +
                       std::to_string(kMaxConfirmSeconds),
                   "confirm_within_s"};
    next.confirm_deadline = impl.clock() + s * 1000;
    // A second provisional activation still reverts to the confirmed mode.
    next.revert_mode =
        impl.state.confirm_deadline ? impl.state.revert_mode : impl.state.mode;
  }
  StoreChange change;
  change.state = next;
  change.audit.push_back(impl.state_audit(actor, "activate", next));
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return impl.state;
}

Result<RestrictionState> ListService::deactivate(const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  StoreChange change;
  change.state = RestrictionState{};
  change.audit.push_back(impl.state_audit(actor, "deactivate", *change.state));
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return impl.state;
}

Result<RestrictionState> ListService::confirm(const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  if (!impl.state.confirm_deadline)
    return Error{"not_pending", "no activation is waiting for confirmation"};
  RestrictionState next = impl.state;
  next.confirm_deadline.reset();
  next.revert_mode = Mode::Off;
  StoreChange change;
  change.state = next;
  change.audit.push_back(impl.state_audit(actor, "confirm", next));
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return impl.state;
}

RestrictionState ListService::state() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->state;
}

std::size_t ListService::enabled_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->enabled;
}

std::size_t ListService::total_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->by_id.size();
}

ListWarnings
ListService::warnings(std::chrono::milliseconds stale_after) const {
  // Bounded work: a status call must stay cheap on a million entries.
  constexpr std::size_t kMaxChecked = 200000;
  constexpr std::size_t kMaxReported = 100;
  std::lock_guard lock(impl_->mutex);
  const Impl &impl = *impl_;
  ListWarnings w;
  EpochMs now = impl.clock();
  std::size_t checked = 0;
  for (const auto &[key, entry] : impl.by_id) {
    if (!entry.enabled || ++checked > kMaxChecked)
      continue;
    const std::string id = key.str();
    for (int len = entry.range.length - 1;
         len >= 0 && w.overlaps.size() < kMaxReported; --len) {
      IpPrefix wider = entry.range.widened_to(static_cast<std::uint8_t>(len));
      auto outer = impl.by_range.find(wider);
      if (outer != impl.by_range.end() &&
          impl.by_id.at(outer->second).enabled) {
        w.overlaps.push_back(entry.range.to_string() + " (" + id +
                             ") lies inside " + wider.to_string() + " (" +
                             outer->second.str() + ")");
        break;
      }
    }
    if (w.stale_ids.size() < kMaxReported) {
      auto h = impl.hits(entry.range);
      EpochMs last = h && h->second > 0 ? h->second : entry.created_at;
      if (now - last > stale_after.count())
        w.stale_ids.push_back(id);
    }
  }
  return w;
}

Result<Store::AuditPage> ListService::audit(std::int64_t offset,
                                            std::int64_t limit) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->store.audit(offset, limit);
}

void ListService::tick() {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  EpochMs now = impl.clock();
  StoreChange change;
  // Most lists never expire anything: they skip the walk.
  if (impl.expiring > 0) {
    for (auto it = impl.by_id.cbegin(); it != impl.by_id.cend(); ++it) {
      const Impl::Listed &listed = it->second;
      if (!listed.enabled || listed.expires_at == kNoTime ||
          listed.expires_at > now)
        continue;
      const Entry entry = impl.entry_at(it);
      const std::string &id = entry.id;
      Entry after = entry;
      after.enabled = false;
      after.updated_at = now;
      change.audit.push_back(
          impl.audit(kSystemActor, "expire", id, entry, after));
      change.upserts.push_back(std::move(after));
    }
  }
  if (impl.state.confirm_deadline && *impl.state.confirm_deadline <= now) {
    RestrictionState reverted;
    reverted.mode = impl.state.revert_mode;
    change.state = reverted;
    change.audit.push_back(
        impl.state_audit(kSystemActor, "revert_unconfirmed", reverted));
  }
  if (change.upserts.empty() && !change.state)
    return;
  // On failure (disk full) the next tick tries again.
  (void)impl.commit(std::move(change));
}

} // namespace xdpgate
