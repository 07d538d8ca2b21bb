// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The list rules of SPEC §2, one test per rule, against ListService with a
// real SQLite store in a temporary directory, a settable clock and a fake
// kernel (records what it is told, can be told to fail, answers lookups by
// longest-prefix match over the allow list it holds).
#include "list/list_service.hpp"
#include "list/list_snapshot.hpp"
#include "model/verdicts.hpp"
#include "store/sqlite_store.hpp"
#include "support/kernel_model.hpp"
#include "support/sqlite_shell.hpp"
#include "support/stored_entries.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace xdpgate {
namespace {

using namespace std::chrono_literals;

constexpr EpochMs kStart = 1'763'880'000'000;
constexpr EpochMs kDay = 24 * 3600 * 1000;

IpPrefix prefix(const std::string &text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : IpPrefix{};
}

IpPrefix address(const std::string &text) {
  auto parsed = IpPrefix::parse_address(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : IpPrefix{};
}

NewEntry entry(std::string range,
               std::optional<std::string> description = std::nullopt,
               std::optional<bool> enabled = std::nullopt) {
  NewEntry e;
  e.ip_range = std::move(range);
  e.description = std::move(description);
  e.enabled = enabled;
  return e;
}

NewEntry expiring(NewEntry e, EpochMs at) {
  e.expires_at = std::optional<EpochMs>(at);
  return e;
}

EntryPatch range_patch(std::string range) {
  EntryPatch p;
  p.ip_range = std::move(range);
  return p;
}

EntryPatch description_patch(std::string description) {
  EntryPatch p;
  p.description = std::optional<std::string>(std::move(description));
  return p;
}

EntryPatch enabled_patch(bool enabled) {
  EntryPatch p;
  p.enabled = enabled;
  return p;
}

ActivateRequest request(Mode mode, bool allow_empty = false,
                        std::optional<std::int64_t> confirm = std::nullopt) {
  ActivateRequest r;
  r.mode = mode;
  r.allow_empty = allow_empty;
  r.confirm_within_s = confirm;
  return r;
}

std::vector<std::string> ranges_of(const std::vector<IpPrefix> &prefixes) {
  std::vector<std::string> out;
  for (const IpPrefix &p : prefixes)
    out.push_back(p.to_string());
  std::sort(out.begin(), out.end());
  return out;
}

// What the export route sends for the list: its snapshot as CSV.
std::string exported(const ListService &service) {
  const ListSnapshot snapshot = service.export_snapshot();
  std::vector<CsvExportRow> rows;
  for (std::size_t i = 0; i < snapshot.size(); ++i)
    rows.push_back(snapshot.csv_row(i));
  return format_allowlist_csv(rows);
}

// The lines of a CSV text, sorted: the list's order is not part of a rule.
std::vector<std::string> csv_lines(const std::string &csv) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = csv.find('\n', start)) != std::string::npos;
       start = end + 1)
    lines.push_back(csv.substr(start, end - start));
  EXPECT_EQ(start, csv.size()) << "the last line has no line end";
  std::sort(lines.begin(), lines.end());
  return lines;
}

// i as the last two parts of a dotted IPv4 address ("i/256.i%256"), to
// number thousands of distinct ranges.
std::string low_parts(int i) {
  return std::to_string(i / 256) + "." + std::to_string(i % 256);
}

// An import file: the header, then the row line(i) for each i below count.
template <typename Line> std::string import_file(int count, Line line) {
  std::string csv = "ip_address,description\n";
  for (int i = 0; i < count; ++i)
    csv += line(i) + "\n";
  return csv;
}

// What an import reports it did to each range (the first ranges of each
// kind: in file order, then, for the removed, in list order).
void expect_summary(const ChangeSummary &summary,
                    const std::vector<std::string> &added,
                    const std::vector<std::string> &updated,
                    const std::vector<std::string> &unchanged,
                    const std::vector<std::string> &removed) {
  EXPECT_EQ(summary.added.first, added);
  EXPECT_EQ(summary.updated.first, updated);
  EXPECT_EQ(summary.unchanged.first, unchanged);
  EXPECT_EQ(summary.removed.first, removed);
}

std::vector<Entry> records(const std::vector<EntryView> &views) {
  std::vector<Entry> out;
  for (const EntryView &v : views)
    out.push_back(v.entry);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class ListServiceTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/xdpgate-list-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    open_service();
  }

  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open_service() {
    auto store = SqliteStore::open(dir_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto opened = ListService::open(
        std::make_unique<SqliteStore>(std::move(store.value())), kernel_,
        [this] { return now_; });
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    service_ = std::move(opened.value());
  }

  // Another service, on the store in `dir`, with a kernel of its own.
  Result<std::unique_ptr<ListService>>
  open_service_on(const std::filesystem::path &dir, ModelKernel &kernel) {
    auto store = SqliteStore::open(dir);
    if (!store)
      return store.error();
    return ListService::open(
        std::make_unique<SqliteStore>(std::move(store.value())), kernel,
        [this] { return now_; });
  }

  // What is on disk, read through a second connection.
  std::vector<Entry> stored_entries() const {
    auto store = SqliteStore::open(dir_);
    EXPECT_TRUE(store.ok());
    if (!store)
      return {};
    auto entries = test::stored_entries(*store);
    EXPECT_TRUE(entries.ok());
    return entries.ok() ? *entries : std::vector<Entry>{};
  }

  Entry stored_entry(const std::string &id) const {
    for (const Entry &e : stored_entries())
      if (e.id == id)
        return e;
    ADD_FAILURE() << id << " is not in the store";
    return {};
  }

  RestrictionState stored_state() const {
    auto store = SqliteStore::open(dir_);
    EXPECT_TRUE(store.ok());
    if (!store)
      return {};
    auto state = store->state();
    EXPECT_TRUE(state.ok());
    return state.ok() ? *state : RestrictionState{};
  }

  std::vector<AuditRecord> audit_log() const {
    auto page = service_->audit(0, 1000);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->records : std::vector<AuditRecord>{};
  }

  std::int64_t audit_total() const {
    auto page = service_->audit(0, 1);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->total : -1;
  }

  EntryView add_one(const NewEntry &e, const std::string &actor = "alice") {
    auto added = service_->add({e}, actor);
    EXPECT_TRUE(added.ok()) << e.ip_range << ": " << added.error().message;
    if (!added.ok() || added->size() != 1)
      return {};
    return added->front().view;
  }

  EntryView add_one(const std::string &range,
                    std::optional<std::string> description = std::nullopt) {
    return add_one(entry(range, std::move(description)));
  }

  void activate(Mode mode = Mode::Enforce,
                std::optional<std::int64_t> confirm_within_s = std::nullopt) {
    ActivateRequest request;
    request.mode = mode;
    request.confirm_within_s = confirm_within_s;
    auto done = service_->activate(request, "alice");
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  // Everything an operation must leave alone when it is refused.
  struct Snapshot {
    std::vector<Entry> listed;
    std::vector<Entry> stored;
    RestrictionState state;
    RestrictionState stored_state;
    std::optional<KernelState> kernel;
    std::int64_t audit_total;
  };

  Snapshot snapshot() const {
    return {records(service_->list(true)),
            stored_entries(),
            service_->state(),
            stored_state(),
            kernel_.applied,
            audit_total()};
  }

  void expect_unchanged(const Snapshot &before) const {
    Snapshot now = snapshot();
    EXPECT_EQ(now.listed, before.listed);
    EXPECT_EQ(now.stored, before.stored);
    EXPECT_EQ(now.state, before.state);
    EXPECT_EQ(now.stored_state, before.stored_state);
    ASSERT_EQ(now.kernel.has_value(), before.kernel.has_value());
    if (now.kernel) {
      EXPECT_EQ(now.kernel->mode, before.kernel->mode);
      EXPECT_EQ(ranges_of(now.kernel->allow), ranges_of(before.kernel->allow));
    }
    EXPECT_EQ(now.audit_total, before.audit_total);
  }

  std::filesystem::path dir_;
  EpochMs now_ = kStart;
  ModelKernel kernel_;
  std::unique_ptr<ListService> service_;
};

// --- Entries -------------------------------------------------------------

TEST_F(ListServiceTest, NewEntryRecordsItsCreatorAndTimesAndIsEnabled) {
  EntryView v = add_one(entry("203.0.113.0/24", "office"), "bob");
  EXPECT_EQ(v.entry.range.to_string(), "203.0.113.0/24");
  EXPECT_EQ(v.entry.description, "office");
  EXPECT_TRUE(v.entry.enabled);
  EXPECT_EQ(v.entry.created_by, "bob");
  EXPECT_EQ(v.entry.created_at, kStart);
  EXPECT_EQ(v.entry.updated_at, std::nullopt);
  EXPECT_EQ(v.hits, 0u);
  EXPECT_EQ(v.last_hit_at, std::nullopt);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"203.0.113.0/24"});
  auto fetched = service_->get(v.entry.id);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->entry, v.entry);
}

TEST_F(ListServiceTest, IdsAreIpUnderscoreAndTenBase36CharactersAndUnique) {
  std::vector<NewEntry> many;
  for (int i = 0; i < 300; ++i)
    many.push_back(entry("10." + std::to_string(i / 256) + "." +
                         std::to_string(i % 256) + ".0/24"));
  auto added = service_->add(many, "alice");
  ASSERT_TRUE(added.ok()) << added.error().message;
  std::set<std::string> ids;
  const std::regex shape("ip_[0-9a-z]{10}");
  for (const AddOutcome &o : *added) {
    EXPECT_TRUE(std::regex_match(o.view.entry.id, shape)) << o.view.entry.id;
    ids.insert(o.view.entry.id);
  }
  EXPECT_EQ(ids.size(), 300u);
}

// One change costs the kernel one range, however long the list: the service
// sends what changes, never the whole list again.
TEST_F(ListServiceTest, TheKernelIsSentOnlyWhatAChangeChanges) {
  std::vector<NewEntry> many;
  for (int i = 0; i < 100; ++i)
    many.push_back(entry("10.0." + std::to_string(i) + ".0/24"));
  ASSERT_TRUE(service_->add(many, "alice").ok());
  EntryView fresh = add_one("192.0.2.1");
  const KernelChange &added = kernel_.changes.back();
  EXPECT_EQ(ranges_of(added.allow.added),
            std::vector<std::string>{"192.0.2.1"});
  EXPECT_TRUE(added.allow.removed.empty());
  EXPECT_FALSE(added.allow.atomic);

  ASSERT_TRUE(
      service_->set_enabled(fresh.entry.id, false, "alice", false).ok());
  const KernelChange &disabled = kernel_.changes.back();
  EXPECT_TRUE(disabled.allow.added.empty());
  EXPECT_EQ(ranges_of(disabled.allow.removed),
            std::vector<std::string>{"192.0.2.1"});

  ASSERT_TRUE(service_->replace({entry("10.0.1.0/24")}, "alice", true).ok());
  EXPECT_TRUE(kernel_.changes.back().allow.atomic);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"10.0.1.0/24"});
}

TEST_F(ListServiceTest, AListIsReadInPagesInListingOrder) {
  for (int i = 0; i < 10; ++i)
    add_one(entry("198.51.100." + std::to_string(i), std::nullopt,
                  i % 3 == 0 ? std::optional(false) : std::nullopt));
  const std::vector<EntryView> all = service_->list(true);
  std::vector<Entry> paged;
  for (std::size_t offset = 0; offset < 12; offset += 3) {
    const ListSnapshot page = service_->snapshot(true, offset, 3);
    EXPECT_EQ(page.total(), 10u);
    EXPECT_EQ(page.size(),
              std::min<std::size_t>(3, 10 - std::min<std::size_t>(offset, 10)));
    for (std::size_t i = 0; i < page.size(); ++i)
      paged.push_back(page.view(i).entry);
  }
  EXPECT_EQ(paged, records(all));
  const ListSnapshot enabled = service_->snapshot(false, 2, 100);
  EXPECT_EQ(enabled.total(), 6u) << "4 of the 10 are disabled";
  ASSERT_EQ(enabled.size(), 4u);
  EXPECT_EQ(enabled.view(0).entry, service_->list(false)[2].entry);
  EXPECT_EQ(service_->snapshot(true, 10, 5).size(), 0u);
}

TEST_F(ListServiceTest, GettingAnUnknownIdIsNotFound) {
  auto got = service_->get("ip_0000000000");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::NotFound);
}

TEST_F(ListServiceTest,
       AddingAListedRangeUpdatesItsDescriptionAndReturnsTheExistingEntry) {
  EntryView first = add_one(entry("198.51.100.0/24", "old"), "alice");
  now_ += 1000;
  auto again = service_->add({entry("198.51.100.0/24", "new")}, "bob");
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  const AddOutcome &o = again->front();
  EXPECT_FALSE(o.created);
  EXPECT_EQ(o.view.entry.id, first.entry.id);
  EXPECT_EQ(o.view.entry.description, "new");
  EXPECT_EQ(o.view.entry.created_by, "alice");
  EXPECT_EQ(o.view.entry.created_at, kStart);
  EXPECT_EQ(o.view.entry.updated_at, kStart + 1000);
  EXPECT_EQ(service_->total_count(), 1u);
}

TEST_F(ListServiceTest, AddingAListedRangeWithoutDescriptionRemovesIt) {
  EntryView first = add_one("198.51.100.0/24", "office");
  auto again = service_->add({entry("198.51.100.0/24")}, "alice");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->front().created);
  EXPECT_EQ(again->front().view.entry.id, first.entry.id);
  EXPECT_EQ(again->front().view.entry.description, std::nullopt);
  EXPECT_EQ(stored_entries().front().description, std::nullopt);
}

TEST_F(ListServiceTest, AnEmptyDescriptionMeansNone) {
  EXPECT_EQ(add_one("198.51.100.0/24", "").entry.description, std::nullopt);
}

TEST_F(ListServiceTest, AddingTheSameRangeInAnotherSpellingFindsTheEntry) {
  EntryView first = add_one("192.0.2.7");
  auto again = service_->add({entry("192.0.2.7/32", "same")}, "alice");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->front().created);
  EXPECT_EQ(again->front().view.entry.id, first.entry.id);
  EXPECT_EQ(service_->total_count(), 1u);
}

// As PUT and import do: a request that names one range twice is ambiguous
// (which description, which state?), so it is refused whole.
TEST_F(ListServiceTest, AddingTheSameRangeTwiceInOneRequestIsRefused) {
  EntryView listed = add_one("192.0.2.0/24", "listed");
  const std::int64_t audits = audit_total();
  auto added = service_->add({entry("198.51.100.0/24", "a"),
                              entry("192.0.2.0/24", "renamed"),
                              entry("198.51.100.0/24", "b")},
                             "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, ErrorCode::InvalidIpRange);
  EXPECT_EQ(added.error().field, "[2].ip_range");
  EXPECT_NE(added.error().message.find("listed twice (also as [0])"),
            std::string::npos)
      << added.error().message;
  EXPECT_EQ(service_->total_count(), 1u);
  EXPECT_EQ(service_->get(listed.entry.id)->entry.description, "listed");
  EXPECT_EQ(audit_total(), audits);
}

TEST_F(ListServiceTest, SingleAddressIsShownWithoutPrefixLength) {
  EXPECT_EQ(add_one("192.0.2.7/32").entry.range.to_string(), "192.0.2.7");
  EXPECT_EQ(add_one("2001:db8::1/128").entry.range.to_string(), "2001:db8::1");
  EXPECT_EQ(add_one("2001:db8:0:0:0:0:0:2").entry.range.to_string(),
            "2001:db8::2");
  EXPECT_EQ(add_one("2001:db8:1::/48").entry.range.to_string(),
            "2001:db8:1::/48");
  EXPECT_EQ(
      csv_lines(exported(*service_)),
      (std::vector<std::string>{"192.0.2.7,,true,", "2001:db8:1::/48,,true,",
                                "2001:db8::1,,true,", "2001:db8::2,,true,",
                                "ip_address,description,enabled,expires_at"}));
}

TEST_F(ListServiceTest, HostBitsAreRejectedWithTheCanonicalSuggestion) {
  auto added = service_->add({entry("192.168.1.5/24")}, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, ErrorCode::InvalidIpRange);
  EXPECT_EQ(added.error().field, "ip_range");
  EXPECT_NE(added.error().message.find("192.168.1.0/24"), std::string::npos)
      << added.error().message;
  EXPECT_EQ(service_->total_count(), 0u);
}

TEST_F(ListServiceTest, MalformedRangesAreRejectedNamingTheField) {
  for (const char *bad :
       {"10.0.0.0/33", "1.2.3", "::ffff:1.2.3.4/200", "", " ", " 10.0.0.1",
        "10.0.0.1 ", "10.0.0.1\n", "010.0.0.1", "10.0.0.01", "10.0.0.0/024",
        "10.0.0.0/", "2001:db8::/129", "example.com"}) {
    auto added = service_->add({entry(bad)}, "alice");
    ASSERT_FALSE(added.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(added.error().code, ErrorCode::InvalidIpRange) << bad;
    EXPECT_EQ(added.error().field, "ip_range") << bad;
    EXPECT_FALSE(added.error().message.empty()) << bad;
  }
  EXPECT_EQ(service_->total_count(), 0u);
  EXPECT_EQ(audit_total(), 0);
}

TEST_F(ListServiceTest, ABadEntryInABatchIsNamedByItsIndex) {
  auto added = service_->add(
      {entry("192.0.2.0/24"), entry("192.0.2.300"), entry("198.51.100.0/24")},
      "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().field, "[1].ip_range");
}

TEST_F(ListServiceTest, DescriptionLongerThan256BytesIsRejected) {
  EXPECT_EQ(add_one("192.0.2.1", std::string(256, 'a')).entry.description,
            std::string(256, 'a'));
  std::string two_byte_chars;
  for (int i = 0; i < 128; ++i)
    two_byte_chars += "\xc3\xa9"; // é: 128 characters, 256 bytes
  EXPECT_TRUE(service_->add({entry("192.0.2.2", two_byte_chars)}, "a").ok());

  for (const std::string &bad : {std::string(257, 'a'), two_byte_chars + "x",
                                 std::string("\xff\xfe"), // not UTF-8
                                 std::string("two\nlines")}) {
    auto added = service_->add({entry("192.0.2.3", bad)}, "alice");
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error().code, ErrorCode::InvalidDescription);
    EXPECT_EQ(added.error().field, "description");
  }
  auto long_update = service_->update(service_->list(true).front().entry.id,
                                      description_patch(std::string(257, 'b')),
                                      "alice", false);
  ASSERT_FALSE(long_update.ok());
  EXPECT_EQ(long_update.error().code, ErrorCode::InvalidDescription);
  EXPECT_EQ(service_->total_count(), 2u);
}

TEST_F(ListServiceTest, InvalidInputChangesNothing) {
  EntryView kept = add_one("192.0.2.0/24", "office");
  activate();
  Snapshot before = snapshot();
  std::size_t syncs = kernel_.calls.size();

  EXPECT_FALSE(
      service_->add({entry("198.51.100.0/24"), entry("198.51.100.1/24")}, "a")
          .ok());
  EXPECT_FALSE(
      service_->add({entry("198.51.100.0/24", std::string(300, 'x'))}, "a")
          .ok());
  EXPECT_FALSE(
      service_->update(kept.entry.id, range_patch("1.2.3"), "a", false).ok());
  EXPECT_FALSE(service_
                   ->update(
                       kept.entry.id,
                       [] {
                         EntryPatch p = range_patch("10.0.0.0/8");
                         p.description =
                             std::optional<std::string>(std::string(300, 'x'));
                         return p;
                       }(),
                       "a", false)
                   .ok());
  EXPECT_FALSE(
      service_->update("ip_unknown000", enabled_patch(false), "a", true).ok());
  EXPECT_FALSE(
      service_->replace({entry("10.0.0.0/8"), entry("10.0.0.1/8")}, "a", true)
          .ok());
  EXPECT_FALSE(service_->remove("ip_unknown000", "a", true).ok());
  EXPECT_FALSE(service_->activate(request(Mode::Enforce, false, 0), "a").ok());
  EXPECT_FALSE(service_->activate(request(Mode::Off), "a").ok());

  expect_unchanged(before);
  EXPECT_EQ(kernel_.calls.size(), syncs)
      << "a refused change reached the kernel";
}

TEST_F(ListServiceTest, UpdatingARangeToOneThatIsListedIsRefused) {
  add_one("192.0.2.0/24");
  EntryView other = add_one("198.51.100.0/24");
  Snapshot before = snapshot();
  auto moved =
      service_->update(other.entry.id, range_patch("192.0.2.0/24"), "a", false);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().field, "ip_range");
  expect_unchanged(before);
}

TEST_F(ListServiceTest, UpdatingTheRangeKeepsTheIdAndMovesTheKernelEntry) {
  EntryView v = add_one("192.0.2.0/24", "office");
  now_ += 5;
  auto moved = service_->update(v.entry.id, range_patch("198.51.100.0/24"),
                                "bob", false);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->entry.id, v.entry.id);
  EXPECT_EQ(moved->entry.description, "office");
  EXPECT_EQ(moved->entry.updated_at, kStart + 5);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"198.51.100.0/24"});
  // The old range is free again.
  EXPECT_TRUE(add_one("192.0.2.0/24").entry.id != v.entry.id);
}

// --- Enabled, disabled and the restriction ----------------------------------

TEST_F(ListServiceTest, DisabledEntriesStayListedButLeaveTheKernel) {
  EntryView a = add_one("192.0.2.0/24");
  EntryView b = add_one("198.51.100.0/24");
  auto disabled = service_->set_enabled(b.entry.id, false, "alice", false);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->entry.enabled);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_EQ(service_->list(false).size(), 1u);
  EXPECT_EQ(service_->list(true).size(), 2u);
  EXPECT_EQ(service_->total_count(), 2u);
  EXPECT_EQ(service_->enabled_count(), 1u);
  EXPECT_FALSE(service_->get(b.entry.id)->entry.enabled);

  ASSERT_TRUE(service_->set_enabled(b.entry.id, true, "alice", false).ok());
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            (std::vector<std::string>{"192.0.2.0/24", "198.51.100.0/24"}));
  (void)a;
}

TEST_F(ListServiceTest, AnEntryAddedDisabledNeverReachesTheKernel) {
  add_one(entry("192.0.2.0/24", std::nullopt, false));
  EXPECT_TRUE(kernel_.applied->allow.empty());
  EXPECT_EQ(service_->list(true).size(), 1u);
}

TEST_F(ListServiceTest, ActivationNeedsAnEnabledEntryUnlessAllowEmpty) {
  auto empty = service_->activate(request(Mode::Enforce), "alice");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::EmptyList);

  // A disabled entry does not count.
  EntryView v = add_one(entry("192.0.2.0/24", std::nullopt, false));
  Snapshot before = snapshot();
  auto still_empty = service_->activate(request(Mode::Monitor), "alice");
  ASSERT_FALSE(still_empty.ok());
  EXPECT_EQ(still_empty.error().code, ErrorCode::EmptyList);
  expect_unchanged(before);

  auto forced = service_->activate(request(Mode::Enforce, true), "alice");
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_EQ(forced->mode, Mode::Enforce);
  EXPECT_EQ(kernel_.applied->mode, Mode::Enforce);
  EXPECT_TRUE(kernel_.applied->allow.empty());

  ASSERT_TRUE(service_->deactivate("alice").ok());
  ASSERT_TRUE(service_->set_enabled(v.entry.id, true, "alice", false).ok());
  auto monitor = service_->activate(request(Mode::Monitor), "alice");
  ASSERT_TRUE(monitor.ok());
  EXPECT_EQ(monitor->mode, Mode::Monitor);
  EXPECT_TRUE(monitor->active());
  EXPECT_EQ(kernel_.applied->mode, Mode::Monitor);
  EXPECT_EQ(stored_state().mode, Mode::Monitor);
}

TEST_F(ListServiceTest, DeactivationKeepsTheList) {
  add_one("192.0.2.0/24", "a");
  add_one(entry("198.51.100.0/24", "b", false));
  activate();
  std::vector<Entry> before = records(service_->list(true));
  auto off = service_->deactivate("alice");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->active());
  EXPECT_EQ(service_->state().mode, Mode::Off);
  EXPECT_EQ(kernel_.applied->mode, Mode::Off);
  EXPECT_EQ(records(service_->list(true)), before);
  EXPECT_EQ(stored_entries(), before);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"192.0.2.0/24"});
}

TEST_F(ListServiceTest, DisablingLastEnabledEntryWhileActiveIsRefused) {
  EntryView a = add_one("192.0.2.0/24");
  EntryView b = add_one("198.51.100.0/24");
  activate();
  ASSERT_TRUE(service_->set_enabled(a.entry.id, false, "alice", false).ok());

  Snapshot before = snapshot();
  auto refused = service_->set_enabled(b.entry.id, false, "alice", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::LastEnabledEntry);
  auto refused_patch =
      service_->update(b.entry.id, enabled_patch(false), "alice", false);
  ASSERT_FALSE(refused_patch.ok());
  EXPECT_EQ(refused_patch.error().code, ErrorCode::LastEnabledEntry);
  // Replacing the list with only disabled entries is the same thing.
  auto refused_replace = service_->replace(
      {entry("198.51.100.0/24", std::nullopt, false)}, "alice", false);
  ASSERT_FALSE(refused_replace.ok());
  EXPECT_EQ(refused_replace.error().code, ErrorCode::LastEnabledEntry);
  expect_unchanged(before);

  auto forced = service_->set_enabled(b.entry.id, false, "alice", true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(service_->enabled_count(), 0u);
  EXPECT_TRUE(kernel_.applied->allow.empty());
  EXPECT_EQ(kernel_.applied->mode, Mode::Enforce);
}

TEST_F(ListServiceTest, DisablingLastEnabledEntryWhileInactiveIsAllowed) {
  EntryView a = add_one("192.0.2.0/24");
  EXPECT_TRUE(service_->set_enabled(a.entry.id, false, "alice", false).ok());
  EXPECT_EQ(service_->enabled_count(), 0u);
}

TEST_F(ListServiceTest,
       DeletingLastEnabledEntryWhileActiveIsRefusedUnlessForced) {
  EntryView a = add_one("192.0.2.0/24");
  EntryView b = add_one(entry("198.51.100.0/24", std::nullopt, false));
  activate();

  Snapshot before = snapshot();
  Status refused = service_->remove(a.entry.id, "alice", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::LastEnabledEntry);
  expect_unchanged(before);

  // Deleting a disabled entry leaves the enabled one: fine.
  ASSERT_TRUE(service_->remove(b.entry.id, "alice", false).ok());
  ASSERT_TRUE(service_->remove(a.entry.id, "alice", true).ok());
  EXPECT_EQ(service_->total_count(), 0u);
  EXPECT_TRUE(service_->state().active());
  EXPECT_TRUE(kernel_.applied->allow.empty());
  EXPECT_FALSE(service_->get(a.entry.id).ok());
}

TEST_F(ListServiceTest, DeletingTheWholeListDeactivates) {
  add_one("192.0.2.0/24");
  add_one(entry("198.51.100.0/24", std::nullopt, false));
  activate(Mode::Enforce, 60);
  ASSERT_TRUE(service_->remove_all("alice").ok());
  EXPECT_EQ(service_->total_count(), 0u);
  EXPECT_EQ(service_->state(), RestrictionState{});
  EXPECT_EQ(stored_state(), RestrictionState{});
  EXPECT_TRUE(stored_entries().empty());
  EXPECT_EQ(kernel_.applied->mode, Mode::Off);
  EXPECT_TRUE(kernel_.applied->allow.empty());
  AuditRecord last = audit_log().front();
  EXPECT_EQ(last.action, "delete_all");
  EXPECT_EQ(last.actor, "alice");
  // Nothing is pending any more.
  now_ += 61'000;
  service_->tick();
  EXPECT_EQ(service_->state(), RestrictionState{});
}

// --- Confirmation -----------------------------------------------------------

TEST_F(ListServiceTest, UnconfirmedActivationRevertsAfterTheDeadline) {
  add_one("192.0.2.0/24");
  activate(Mode::Enforce, 30);
  RestrictionState pending = service_->state();
  EXPECT_EQ(pending.mode, Mode::Enforce);
  EXPECT_EQ(pending.confirm_deadline, kStart + 30'000);
  EXPECT_EQ(pending.revert_mode, Mode::Off);
  EXPECT_EQ(kernel_.applied->mode, Mode::Enforce);
  EXPECT_EQ(stored_state(), pending);

  now_ = kStart + 29'999;
  service_->tick();
  EXPECT_EQ(service_->state(), pending);

  now_ = kStart + 30'000;
  service_->tick();
  EXPECT_EQ(service_->state(), RestrictionState{});
  EXPECT_EQ(stored_state(), RestrictionState{});
  EXPECT_EQ(kernel_.applied->mode, Mode::Off);
  AuditRecord last = audit_log().front();
  EXPECT_EQ(last.action, "revert_unconfirmed");
  EXPECT_EQ(last.actor, "xdpgated");
  EXPECT_EQ(last.at, kStart + 30'000);
  EXPECT_EQ(nlohmann::json::parse(last.before)["mode"], "enforce");
  EXPECT_EQ(nlohmann::json::parse(last.after)["mode"], "off");
}

TEST_F(ListServiceTest, UnconfirmedActivationRevertsToThePreviousMode) {
  add_one("192.0.2.0/24");
  activate(Mode::Monitor);
  activate(Mode::Enforce, 10);
  // A second provisional step still reverts to the last confirmed mode.
  now_ += 5'000;
  activate(Mode::Enforce, 10);
  EXPECT_EQ(service_->state().revert_mode, Mode::Monitor);
  EXPECT_EQ(service_->state().confirm_deadline, kStart + 15'000);
  now_ = kStart + 15'000;
  service_->tick();
  EXPECT_EQ(service_->state().mode, Mode::Monitor);
  EXPECT_EQ(service_->state().confirm_deadline, std::nullopt);
  EXPECT_EQ(kernel_.applied->mode, Mode::Monitor);
}

TEST_F(ListServiceTest, ConfirmedActivationStays) {
  add_one("192.0.2.0/24");
  activate(Mode::Enforce, 30);
  now_ += 10'000;
  auto confirmed = service_->confirm("alice");
  ASSERT_TRUE(confirmed.ok());
  EXPECT_EQ(confirmed->mode, Mode::Enforce);
  EXPECT_EQ(confirmed->confirm_deadline, std::nullopt);
  EXPECT_EQ(stored_state().confirm_deadline, std::nullopt);
  now_ += kDay;
  service_->tick();
  EXPECT_EQ(service_->state().mode, Mode::Enforce);
  EXPECT_EQ(kernel_.applied->mode, Mode::Enforce);
  EXPECT_EQ(audit_log().front().action, "confirm");
}

TEST_F(ListServiceTest, ConfirmWithoutPendingActivationIsRefused) {
  auto inactive = service_->confirm("alice");
  ASSERT_FALSE(inactive.ok());
  EXPECT_EQ(inactive.error().code, ErrorCode::NotPending);
  add_one("192.0.2.0/24");
  activate();
  Snapshot before = snapshot();
  auto active = service_->confirm("alice");
  ASSERT_FALSE(active.ok());
  EXPECT_EQ(active.error().code, ErrorCode::NotPending);
  expect_unchanged(before);
}

TEST_F(ListServiceTest, ConfirmationWindowMustBeSensible) {
  add_one("192.0.2.0/24");
  for (std::int64_t s :
       {std::int64_t{0}, std::int64_t{-5}, std::int64_t{24 * 3600 + 1}}) {
    auto refused =
        service_->activate(request(Mode::Enforce, false, s), "alice");
    ASSERT_FALSE(refused.ok()) << s;
    EXPECT_EQ(refused.error().code, ErrorCode::InvalidValue);
    EXPECT_EQ(refused.error().field, "confirm_within_s");
  }
  EXPECT_FALSE(service_->state().active());
}

// --- Expiry -----------------------------------------------------------------

TEST_F(ListServiceTest, ExpiredEntryIsDisabledAndAudited) {
  add_one("192.0.2.0/24");
  NewEntry temporary = entry("198.51.100.7", "vendor");
  temporary.expires_at = kStart + 60'000;
  EntryView v = add_one(temporary);
  EXPECT_EQ(v.entry.expires_at, kStart + 60'000);

  now_ = kStart + 59'999;
  service_->tick();
  EXPECT_TRUE(service_->get(v.entry.id)->entry.enabled);

  now_ = kStart + 60'000;
  service_->tick();
  Entry after = service_->get(v.entry.id)->entry;
  EXPECT_FALSE(after.enabled);
  EXPECT_EQ(after.updated_at, kStart + 60'000);
  EXPECT_EQ(service_->list(true).size(), 2u);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_FALSE(stored_entry(v.entry.id).enabled);

  AuditRecord last = audit_log().front();
  EXPECT_EQ(last.action, "expire");
  EXPECT_EQ(last.actor, "xdpgated");
  EXPECT_EQ(last.entry_id, v.entry.id);
  EXPECT_EQ(last.at, kStart + 60'000);
  EXPECT_EQ(nlohmann::json::parse(last.before)["enabled"], true);
  EXPECT_EQ(nlohmann::json::parse(last.after)["enabled"], false);

  // Once is enough.
  std::int64_t total = audit_total();
  now_ += 60'000;
  service_->tick();
  EXPECT_EQ(audit_total(), total);
}

// --- Replace and import -----------------------------------------------------

TEST_F(ListServiceTest, ReplaceKeepsIdsOfRangesThatStay) {
  EntryView a = add_one(entry("192.0.2.0/24", "a"), "alice");
  EntryView b = add_one(entry("198.51.100.0/24", "b"), "alice");
  EntryView c = add_one(entry("203.0.113.0/24", "c"), "alice");
  now_ += 1000;
  auto replaced = service_->replace({entry("198.51.100.0/24", "b"),
                                     entry("203.0.113.0/24", "c2"),
                                     entry("2001:db8::/32", "d")},
                                    "bob", false);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  ASSERT_EQ(replaced->size(), 3u);
  EXPECT_EQ((*replaced)[0].entry, b.entry); // untouched
  EXPECT_EQ((*replaced)[1].entry.id, c.entry.id);
  EXPECT_EQ((*replaced)[1].entry.description, "c2");
  EXPECT_EQ((*replaced)[1].entry.created_by, "alice");
  EXPECT_EQ((*replaced)[1].entry.created_at, kStart);
  EXPECT_EQ((*replaced)[1].entry.updated_at, kStart + 1000);
  EXPECT_NE((*replaced)[2].entry.id, a.entry.id);
  EXPECT_EQ((*replaced)[2].entry.created_by, "bob");
  EXPECT_FALSE(service_->get(a.entry.id).ok());
  EXPECT_EQ(service_->total_count(), 3u);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            (std::vector<std::string>{"198.51.100.0/24", "2001:db8::/32",
                                      "203.0.113.0/24"}));
  EXPECT_EQ(stored_entries().size(), 3u);
}

TEST_F(ListServiceTest, ReplaceIsAllOrNothing) {
  add_one("192.0.2.0/24", "a");
  add_one("198.51.100.0/24", "b");
  Snapshot before = snapshot();

  auto bad_range = service_->replace(
      {entry("10.0.0.0/8"), entry("10.0.0.1/8"), entry("11.0.0.0/8")}, "a",
      false);
  ASSERT_FALSE(bad_range.ok());
  EXPECT_EQ(bad_range.error().code, ErrorCode::InvalidIpRange);
  EXPECT_EQ(bad_range.error().field, "[1].ip_range");

  auto twice = service_->replace(
      {entry("10.0.0.0/8"), entry("10.0.0.0/8", "again")}, "a", false);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().field, "[1].ip_range");

  auto bad_description = service_->replace(
      {entry("10.0.0.0/8", std::string(257, 'x'))}, "a", false);
  ASSERT_FALSE(bad_description.ok());
  EXPECT_EQ(bad_description.error().field, "[0].description");

  // The first mistake in request order is the one reported.
  auto first_repeat = service_->replace(
      {entry("10.0.0.0/8"), entry("11.0.0.0/8"), entry("11.0.0.0/8"),
       entry("10.0.0.0/8"), entry("10.0.0.0/8"), entry("12.0.0.1/8")},
      "a", false);
  ASSERT_FALSE(first_repeat.ok());
  EXPECT_EQ(first_repeat.error().message,
            "[2].ip_range: 11.0.0.0/8 is listed twice (also as [1]); give "
            "each range once");
  auto invalid_first = service_->replace(
      {entry("10.0.0.0/8"), entry("12.0.0.1/8"), entry("10.0.0.0/8")}, "a",
      false);
  ASSERT_FALSE(invalid_first.ok());
  EXPECT_EQ(invalid_first.error().field, "[1].ip_range");
  auto repeat_first = service_->replace(
      {entry("10.0.0.0/8"), entry("10.0.0.0/8"), entry("12.0.0.1/8")}, "a",
      false);
  ASSERT_FALSE(repeat_first.ok());
  EXPECT_EQ(repeat_first.error().message,
            "[1].ip_range: 10.0.0.0/8 is listed twice (also as [0]); give "
            "each range once");

  kernel_.fail_next = 1;
  EXPECT_FALSE(service_->replace({entry("10.0.0.0/8")}, "a", false).ok());

  expect_unchanged(before);
}

TEST_F(ListServiceTest, ImportRejectsTheWholeFileAndReportsEveryBadLine) {
  add_one("192.0.2.0/24", "a");
  Snapshot before = snapshot();
  auto report = service_->import_csv("ip_address,description\n"
                                     "198.51.100.0/24,good\n"
                                     "198.51.100.5/24,host bits\n"
                                     "203.0.113.0/24,good\n"
                                     "not-an-ip,\n"
                                     "2001:db8::/32," +
                                         std::string(300, 'x') +
                                         "\n"
                                         "198.51.100.0/"
                                         "24,dup\n",
                                     false, "alice", false);
  ASSERT_TRUE(report.ok()) << report.error().message;
  std::vector<std::size_t> lines;
  for (const CsvLineError &e : report->errors) {
    lines.push_back(e.line);
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_EQ(lines, (std::vector<std::size_t>{3, 5, 6, 7}));
  EXPECT_NE(report->errors.front().message.find("198.51.100.0/24"),
            std::string::npos);
  expect_unchanged(before);

  auto no_header =
      service_->import_csv("198.51.100.0/24,x\n", false, "alice", false);
  ASSERT_TRUE(no_header.ok());
  ASSERT_EQ(no_header->errors.size(), 1u);
  EXPECT_EQ(no_header->errors.front().line, 1u);
  expect_unchanged(before);
}

TEST_F(ListServiceTest, ImportAddsAndUpdatesLikeAdd) {
  EntryView a = add_one("192.0.2.0/24", "a");
  EntryView b = add_one(entry("198.51.100.0/24", "b", false));
  auto report = service_->import_csv("ip_address,description\n"
                                     "192.0.2.0/24,a\n"
                                     "198.51.100.0/24,\n"
                                     "203.0.113.9,new\n",
                                     false, "carol", false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->errors.empty());
  expect_summary(report->summary, {"203.0.113.9"}, {"198.51.100.0/24"},
                 {"192.0.2.0/24"}, {});
  EXPECT_EQ(service_->total_count(), 3u);
  EXPECT_EQ(service_->get(a.entry.id)->entry, a.entry);
  Entry b_after = service_->get(b.entry.id)->entry;
  EXPECT_EQ(b_after.description, std::nullopt);
  EXPECT_FALSE(b_after.enabled); // import touches descriptions only
}

TEST_F(ListServiceTest, ImportIsAuditedWithEveryEntryBeforeAndAfter) {
  EntryView b = add_one("198.51.100.0/24", "b \"old\"");
  add_one("192.0.2.0/24", "same");
  std::int64_t before_import = audit_total();
  now_ += 1000;
  auto report = service_->import_csv("ip_address,description\n"
                                     "192.0.2.0/24,same\n"
                                     "198.51.100.0/24,\n"
                                     "203.0.113.9,\"new, \"\"quoted\"\"\"\n",
                                     false, "carol", false);
  ASSERT_TRUE(report.ok());
  // One record for the whole (small) import; unchanged entries are not in it.
  ASSERT_EQ(audit_total(), before_import + 1);
  AuditRecord r = audit_log().front();
  EXPECT_EQ(r.actor, "carol");
  EXPECT_EQ(r.action, "import");
  EXPECT_EQ(r.at, kStart + 1000);
  EXPECT_EQ(r.entry_id, "");
  nlohmann::json before = nlohmann::json::parse(r.before);
  nlohmann::json after = nlohmann::json::parse(r.after);
  std::string added_id;
  for (const EntryView &v : service_->list(true))
    if (v.entry.range.to_string() == "203.0.113.9")
      added_id = v.entry.id;
  ASSERT_FALSE(added_id.empty());
  EXPECT_EQ(after["added"],
            nlohmann::json::parse(R"([{"id":")" + added_id +
                                  R"(","ip_range":"203.0.113.9",)"
                                  R"("description":"new, \"quoted\"",)"
                                  R"("enabled":true,"expires_at":null}])"));
  EXPECT_EQ(after["updated"],
            nlohmann::json::parse(R"([{"id":")" + b.entry.id +
                                  R"(","ip_range":"198.51.100.0/24",)"
                                  R"("description":null,)"
                                  R"("enabled":true,"expires_at":null}])"));
  EXPECT_EQ(before["updated"],
            nlohmann::json::parse(R"([{"id":")" + b.entry.id +
                                  R"(","ip_range":"198.51.100.0/24",)"
                                  R"("description":"b \"old\"",)"
                                  R"("enabled":true,"expires_at":null}])"));
}

TEST_F(ListServiceTest, ReplaceIsAuditedWithEveryEntryRemovedAddedOrUpdated) {
  EntryView gone = add_one("192.0.2.0/24", "gone");
  EntryView kept = add_one("198.51.100.0/24", "kept");
  EntryView changed = add_one("203.0.113.0/24", "old");
  now_ += 1000;
  ASSERT_TRUE(service_
                  ->replace({entry("198.51.100.0/24", "kept"),
                             entry("203.0.113.0/24", "new"),
                             entry("10.0.0.0/8", "added")},
                            "gina", false)
                  .ok());
  AuditRecord r = audit_log().front();
  EXPECT_EQ(r.action, "replace");
  EXPECT_EQ(r.actor, "gina");
  nlohmann::json before = nlohmann::json::parse(r.before);
  nlohmann::json after = nlohmann::json::parse(r.after);
  EXPECT_EQ(before["entries"], 3);
  EXPECT_EQ(after["entries"], 3);
  ASSERT_EQ(before["removed"].size(), 1u);
  EXPECT_EQ(before["removed"][0]["id"], gone.entry.id);
  EXPECT_EQ(before["removed"][0]["description"], "gone");
  // The entry that stays unchanged is no change, so not in the record.
  ASSERT_EQ(before["updated"].size(), 1u);
  ASSERT_EQ(after["updated"].size(), 1u);
  EXPECT_EQ(before["updated"][0]["id"], changed.entry.id);
  EXPECT_EQ(before["updated"][0]["description"], "old");
  EXPECT_EQ(after["updated"][0]["id"], changed.entry.id);
  EXPECT_EQ(after["updated"][0]["description"], "new");
  ASSERT_EQ(after["added"].size(), 1u);
  EXPECT_EQ(after["added"][0]["ip_range"], "10.0.0.0/8");
  EXPECT_EQ(after["added"][0]["enabled"], true);
  EXPECT_NE(r.before.find(gone.entry.id), std::string::npos);
  EXPECT_EQ(r.before.find(kept.entry.id), std::string::npos);
  EXPECT_EQ(r.after.find(kept.entry.id), std::string::npos);
}

TEST_F(ListServiceTest,
       LargeReplaceAndDeleteAllAreAuditedInRecordsOfTenThousand) {
  std::vector<NewEntry> first, second;
  for (int i = 0; i < 15000; ++i) {
    first.push_back(entry("10.0." + low_parts(i), "x"));
    second.push_back(entry("172.16." + low_parts(i), "y"));
  }
  ASSERT_TRUE(service_->replace(first, "gina", false).ok());
  std::int64_t before_replace = audit_total();
  // 15,000 removed and 15,000 added: three records of up to 10,000.
  ASSERT_TRUE(service_->replace(second, "gina", false).ok());
  ASSERT_EQ(audit_total(), before_replace + 3);
  ASSERT_TRUE(service_->remove_all("hank").ok());
  ASSERT_EQ(audit_total(), before_replace + 3 + 2);
  std::size_t removed = 0, added = 0, removed_by_delete_all = 0;
  std::size_t with_state = 0;
  std::vector<AuditRecord> log = audit_log();
  ASSERT_GE(log.size(), 5u);
  log.resize(5); // newest first: these five
  for (const AuditRecord &r : log) {
    nlohmann::json before = nlohmann::json::parse(r.before);
    if (r.action == "replace") {
      removed += before.value("removed", nlohmann::json::array()).size();
      if (!r.after.empty())
        added += nlohmann::json::parse(r.after)
                     .value("added", nlohmann::json::array())
                     .size();
    } else if (r.action == "delete_all") {
      removed_by_delete_all +=
          before.value("removed", nlohmann::json::array()).size();
      with_state += before.contains("state");
    }
  }
  EXPECT_EQ(removed, 15000u);
  EXPECT_EQ(added, 15000u);
  EXPECT_EQ(removed_by_delete_all, 15000u);
  EXPECT_EQ(with_state, 1u); // the first record carries the state
}

TEST_F(ListServiceTest, NewEntriesOfOneRequestGetAscendingDistinctIds) {
  add_one("192.0.2.0/24");
  std::string csv =
      import_file(2000, [](int i) { return "10.0." + low_parts(i) + ","; });
  ASSERT_TRUE(service_->import_csv(csv, false, "carol", false).ok());
  std::vector<EntryView> listed = service_->list(true);
  ASSERT_EQ(listed.size(), 2001u);
  // File order is listing order; the store's id index takes them in order.
  for (std::size_t k = 2; k < listed.size(); ++k)
    EXPECT_LT(listed[k - 1].entry.id, listed[k].entry.id);
  for (const EntryView &v : listed)
    EXPECT_EQ(v.entry.id.size(), 13u);
}

TEST_F(ListServiceTest, StoreWithAnIdTooLongToHoldIsRefusedAsCorrupt) {
  auto dir = dir_ / "long-id";
  {
    auto store = SqliteStore::open(dir);
    ASSERT_TRUE(store.ok());
    Entry e;
    e.id = "ip_0123456789abcdef"; // 19 characters: no xdpgate makes one
    e.range = *IpPrefix::parse("192.0.2.0/24");
    e.created_by = "alice";
    ASSERT_TRUE(store->apply({.upserts = {e}}).ok());
  }
  ModelKernel other_kernel;
  auto opened = open_service_on(dir, other_kernel);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::StoreCorrupt);
}

// The store hands rows over in insertion order; a clock stepped back makes
// that differ from creation order, which the listing keeps (ties in
// insertion order), and what is added afterwards comes last.
TEST_F(ListServiceTest, EntriesStoredOutOfCreationOrderAreListedInIt) {
  auto dir = dir_ / "clock-stepped-back";
  {
    auto store = SqliteStore::open(dir);
    ASSERT_TRUE(store.ok());
    StoreChange change;
    const std::vector<std::pair<const char *, EpochMs>> rows = {
        {"ip_late000001", 3000},
        {"ip_tied000001", 1000},
        {"ip_middle0001", 2000},
        {"ip_tied000002", 1000}};
    int n = 0;
    for (const auto &[id, created_at] : rows) {
      Entry e;
      e.id = id;
      e.range = *IpPrefix::parse("192.0.2." + std::to_string(++n));
      e.created_by = "alice";
      e.created_at = created_at;
      change.upserts.push_back(e);
    }
    ASSERT_TRUE(store->apply(change).ok());
  }
  ModelKernel other_kernel;
  auto opened = open_service_on(dir, other_kernel);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ASSERT_TRUE((*opened)->add({entry("198.18.0.0/15")}, "bob").ok());

  std::vector<std::string> ids;
  for (const EntryView &v : (*opened)->list(true))
    ids.push_back(v.entry.id);
  ASSERT_EQ(ids.size(), 5u);
  ids.pop_back(); // the one added after the start: its id is random
  EXPECT_EQ(ids, (std::vector<std::string>{"ip_tied000001", "ip_tied000002",
                                           "ip_middle0001", "ip_late000001"}));
  EXPECT_EQ((*opened)->list(true).back().entry.created_by, "bob");
}

TEST_F(ListServiceTest, LargeImportIsAuditedInRecordsOfTenThousand) {
  std::string csv =
      import_file(25000, [](int i) { return "10." + low_parts(i) + ".1,x"; });
  std::int64_t before_import = audit_total();
  auto report = service_->import_csv(csv, false, "carol", false);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->summary.added.count, 25000u);
  // The answer names the first ranges only; the audit log names them all.
  ASSERT_EQ(report->summary.added.first.size(), ChangeSummary::kListed);
  EXPECT_EQ(report->summary.added.first.front(), "10.0.0.1");
  ASSERT_EQ(audit_total(), before_import + 3);
  std::size_t listed = 0;
  for (const AuditRecord &r : audit_log()) {
    if (r.action != "import")
      continue;
    EXPECT_TRUE(r.before.empty()); // nothing was updated
    listed += nlohmann::json::parse(r.after)["added"].size();
  }
  EXPECT_EQ(listed, 25000u);
}

TEST_F(ListServiceTest, ImportDryRunChangesNothing) {
  add_one("192.0.2.0/24", "a");
  add_one("198.51.100.0/24", "b");
  add_one("203.0.113.0/24", "c");
  Snapshot before = snapshot();
  std::size_t syncs = kernel_.calls.size();
  const std::string csv = "ip_address,description\n"
                          "192.0.2.0/24,a\n"
                          "198.51.100.0/24,changed\n"
                          "2001:db8::/32,new\n";
  Result<ImportReport> dry = Error{ErrorCode::Internal, "not run"};
  service_->dry_run(
      {}, [&] { dry = service_->import_csv(csv, false, "alice", false); });
  ASSERT_TRUE(dry.ok());
  EXPECT_FALSE(dry->replace);
  EXPECT_EQ(dry->summary.added.first,
            std::vector<std::string>{"2001:db8::/32"});
  EXPECT_EQ(dry->summary.updated.first,
            std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_EQ(dry->summary.unchanged.first,
            std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_TRUE(dry->summary.removed.first.empty());

  Result<ImportReport> dry_replace = Error{ErrorCode::Internal, "not run"};
  service_->dry_run({}, [&] {
    dry_replace = service_->import_csv(csv, true, "alice", false);
  });
  ASSERT_TRUE(dry_replace.ok());
  EXPECT_TRUE(dry_replace->replace);
  EXPECT_EQ(dry_replace->summary.removed.first,
            std::vector<std::string>{"203.0.113.0/24"});

  expect_unchanged(before);
  EXPECT_EQ(kernel_.calls.size(), syncs);
}

TEST_F(ListServiceTest, ImportWithReplaceMakesTheFileTheWholeList) {
  EntryView a = add_one("192.0.2.0/24", "a");
  EntryView b = add_one(entry("198.51.100.0/24", "b", false));
  add_one("203.0.113.0/24", "c");
  auto report = service_->import_csv("ip_address,description\n"
                                     "192.0.2.0/24,a\n"
                                     "198.51.100.0/24,b2\n"
                                     "2001:db8::/32,d\n",
                                     true, "alice", false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->errors.empty());
  expect_summary(report->summary, {"2001:db8::/32"}, {"198.51.100.0/24"},
                 {"192.0.2.0/24"}, {"203.0.113.0/24"});
  std::vector<std::string> listed;
  for (const EntryView &v : service_->list(true))
    listed.push_back(v.entry.range.to_string());
  EXPECT_EQ(sorted(listed),
            (std::vector<std::string>{"192.0.2.0/24", "198.51.100.0/24",
                                      "2001:db8::/32"}));
  EXPECT_EQ(service_->get(a.entry.id)->entry, a.entry);
  Entry b_after = service_->get(b.entry.id)->entry;
  EXPECT_EQ(b_after.description, "b2");
  EXPECT_FALSE(b_after.enabled); // an entry that stays keeps its flag
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            (std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32"}));

  // Replacing with an empty file empties the list.
  auto emptied =
      service_->import_csv("ip_address,description\n", true, "alice", false);
  ASSERT_TRUE(emptied.ok());
  EXPECT_EQ(emptied->summary.removed.count, 3u);
  EXPECT_EQ(emptied->summary.added.count + emptied->summary.updated.count +
                emptied->summary.unchanged.count,
            0u);
  EXPECT_EQ(service_->total_count(), 0u);
}

TEST_F(ListServiceTest, ImportWithReplaceWhileActiveKeepsAnEnabledEntry) {
  add_one("192.0.2.0/24");
  activate();
  Snapshot before = snapshot();
  auto refused =
      service_->import_csv("ip_address,description\n", true, "alice", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::LastEnabledEntry);
  expect_unchanged(before);
  EXPECT_TRUE(
      service_->import_csv("ip_address,description\n", true, "alice", true)
          .ok());
  EXPECT_EQ(service_->total_count(), 0u);
}

TEST_F(ListServiceTest, ExportThenImportIsLossless) {
  std::vector<NewEntry> original = {
      entry("192.0.2.7"),
      entry("198.51.100.0/24", "plain"),
      entry("203.0.113.0/24", "with, comma"),
      entry("10.0.0.0/8", "with \"quotes\""),
      entry("2001:db8::/32", " padded\t"),
      entry("2001:db8:1::1", "caf\xc3\xa9 \xe2\x82\xac"),
      entry("::ffff:192.0.2.1", "mapped"),
      entry("172.16.0.0/12", "disabled too", false),
      expiring(entry("192.0.2.128/25", "vendor"), kStart + kDay),
      expiring(entry("198.18.0.0/15", "disabled, expiring", false),
               kStart + 2 * kDay),
  };
  ASSERT_TRUE(service_->add(original, "alice").ok());
  const std::string csv = exported(*service_);

  auto second_store_dir = dir_ / "other";
  ModelKernel other_kernel;
  auto opened = open_service_on(second_store_dir, other_kernel);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<ListService> second = std::move(opened.value());
  auto imported = second->import_csv(csv, false, "bob", false);
  ASSERT_TRUE(imported.ok());
  EXPECT_TRUE(imported->errors.empty());
  EXPECT_EQ(imported->summary.added.count, original.size());

  // What a backup must restore: range, description, enabled, expiry.
  auto rows = [](const std::vector<EntryView> &views) {
    std::set<std::tuple<std::string, std::optional<std::string>, bool,
                        std::optional<EpochMs>>>
        out;
    for (const EntryView &v : views)
      out.emplace(v.entry.range.to_string(), v.entry.description,
                  v.entry.enabled, v.entry.expires_at);
    return out;
  };
  EXPECT_EQ(rows(second->list(true)), rows(service_->list(true)));
  // Entries created in the same millisecond have no defined order.
  EXPECT_EQ(csv_lines(exported(*second)), csv_lines(csv));

  // Importing the export into its own list changes nothing.
  Snapshot before = snapshot();
  auto again = service_->import_csv(csv, true, "alice", false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->summary.unchanged.count, original.size());
  EXPECT_TRUE(again->summary.added.first.empty());
  EXPECT_TRUE(again->summary.updated.first.empty());
  EXPECT_TRUE(again->summary.removed.first.empty());
  EXPECT_EQ(records(service_->list(true)), before.listed);
}

// --- Check
// --------------------------------------------------------------------

TEST_F(ListServiceTest, CheckWithRestrictionInactiveAllowsWithNoMatchedEntry) {
  add_one("192.0.2.0/24");
  add_one("198.51.100.0/24");
  for (const char *a : {"192.0.2.1", "8.8.8.8"}) {
    CheckResult r = service_->check(address(a));
    EXPECT_TRUE(r.allowed) << a;
    EXPECT_EQ(r.matched_entry, std::nullopt) << a;
    EXPECT_FALSE(r.restriction_active);
    EXPECT_EQ(r.total_entries, 2u);
    EXPECT_EQ(r.address, address(a));
  }
}

TEST_F(ListServiceTest, CheckUsesLongestPrefixMatch) {
  EntryView wide = add_one("10.0.0.0/8", "wide");
  EntryView mid = add_one("10.1.0.0/16", "mid");
  EntryView host = add_one("10.1.2.3", "host");
  EntryView v6 = add_one("2001:db8::/32");
  EntryView v6_narrow = add_one("2001:db8:1::/48");
  activate();

  auto matched = [&](const char *a) -> std::string {
    CheckResult r = service_->check(address(a));
    EXPECT_TRUE(r.restriction_active);
    EXPECT_EQ(r.total_entries, 5u);
    EXPECT_EQ(r.allowed, r.matched_entry.has_value()) << a;
    return r.matched_entry ? r.matched_entry->entry.id : "none";
  };
  EXPECT_EQ(matched("10.1.2.3"), host.entry.id);
  EXPECT_EQ(matched("10.1.2.4"), mid.entry.id);
  EXPECT_EQ(matched("10.200.0.1"), wide.entry.id);
  EXPECT_EQ(matched("11.0.0.1"), "none");
  EXPECT_EQ(matched("2001:db8:1::5"), v6_narrow.entry.id);
  EXPECT_EQ(matched("2001:db8:2::5"), v6.entry.id);
  EXPECT_EQ(matched("2001:db9::1"), "none");

  // A disabled entry is not in the kernel, so the wider one answers.
  ASSERT_TRUE(service_->set_enabled(mid.entry.id, false, "a", false).ok());
  EXPECT_EQ(matched("10.1.2.4"), wide.entry.id);
}

// SPEC §3: the verdict of a TCP packet to a protected port, in the data
// path's order (exempt source, the list, the mode), in every mode.
TEST_F(ListServiceTest, CheckGivesTheDataPathsVerdictInEveryMode) {
  add_one("192.0.2.0/24");
  kernel_.exempt = {prefix("198.51.100.0/28"), prefix("2001:db8:e::/48")};
  struct Case {
    const char *address;
    const char *off, *monitor, *enforce;
  };
  const Case cases[] = {
      {"192.0.2.9", "allowed", "allowed", "allowed"},
      {"203.0.113.1", "would_drop", "would_drop", "dropped"},
      {"198.51.100.3", "exempt_source", "exempt_source", "exempt_source"},
      {"198.51.100.16", "would_drop", "would_drop", "dropped"},
      {"2001:db8:e::1", "exempt_source", "exempt_source", "exempt_source"},
      {"2001:db8:f::1", "would_drop", "would_drop", "dropped"},
  };
  auto verdict_of = [&](const char *a, Mode mode) {
    CheckResult r = service_->check(address(a));
    EXPECT_EQ(r.mode, mode) << a;
    EXPECT_EQ(r.allowed, r.verdict != XDPGATE_VERDICT_DROPPED) << a;
    EXPECT_EQ(r.matched_entry.has_value(),
              mode != Mode::Off && r.verdict == XDPGATE_VERDICT_ALLOWED)
        << a;
    return std::string(kVerdictNames[r.verdict]);
  };
  for (const Case &c : cases)
    EXPECT_EQ(verdict_of(c.address, Mode::Off), c.off) << c.address;
  activate(Mode::Monitor);
  for (const Case &c : cases)
    EXPECT_EQ(verdict_of(c.address, Mode::Monitor), c.monitor) << c.address;
  ASSERT_TRUE(service_->deactivate("a").ok());
  activate(Mode::Enforce);
  for (const Case &c : cases)
    EXPECT_EQ(verdict_of(c.address, Mode::Enforce), c.enforce) << c.address;
}

TEST_F(ListServiceTest, CheckShowsTheMatchedEntrysStatistics) {
  EntryView v = add_one("192.0.2.0/24");
  kernel_.counted[prefix("192.0.2.0/24")] = {42, kStart - 5};
  activate(Mode::Monitor);
  CheckResult r = service_->check(address("192.0.2.9"));
  ASSERT_TRUE(r.matched_entry);
  EXPECT_EQ(r.matched_entry->entry.id, v.entry.id);
  EXPECT_EQ(r.matched_entry->hits, 42u);
  EXPECT_EQ(r.matched_entry->last_hit_at, kStart - 5);
}

// --- Audit, durability, the kernel ------------------------------------------

TEST_F(ListServiceTest, EveryChangeIsAudited) {
  EntryView v = add_one(entry("192.0.2.0/24", "office"), "alice");
  now_ += 1;
  ASSERT_TRUE(service_->add({entry("192.0.2.0/24", "hq")}, "bob").ok());
  now_ += 1;
  ASSERT_TRUE(service_->set_enabled(v.entry.id, false, "carol", false).ok());
  now_ += 1;
  ASSERT_TRUE(service_->set_enabled(v.entry.id, true, "carol", false).ok());
  now_ += 1;
  activate(Mode::Enforce, 60);
  now_ += 1;
  ASSERT_TRUE(service_->confirm("dave").ok());
  now_ += 1;
  ASSERT_TRUE(service_->deactivate("erin").ok());
  now_ += 1;
  ASSERT_TRUE(service_->remove(v.entry.id, "frank", false).ok());
  now_ += 1;
  ASSERT_TRUE(
      service_->replace({entry("198.51.100.0/24")}, "gina", false).ok());
  now_ += 1;
  ASSERT_TRUE(service_->remove_all("hank").ok());

  std::vector<AuditRecord> log = audit_log();
  ASSERT_EQ(log.size(), 10u);
  std::reverse(log.begin(), log.end()); // oldest first
  struct Want {
    const char *actor, *action;
    bool has_entry, has_before, has_after;
  };
  const Want want[] = {
      {"alice", "add", true, false, true},
      {"bob", "update", true, true, true},
      {"carol", "update", true, true, true},
      {"carol", "update", true, true, true},
      {"alice", "activate", false, true, true},
      {"dave", "confirm", false, true, true},
      {"erin", "deactivate", false, true, true},
      {"frank", "delete", true, true, false},
      {"gina", "replace", false, true, true},
      {"hank", "delete_all", false, true, true},
  };
  for (std::size_t i = 0; i < log.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(log[i].actor, want[i].actor);
    EXPECT_EQ(log[i].action, want[i].action);
    EXPECT_EQ(log[i].at, kStart + static_cast<EpochMs>(i));
    if (i > 0) {
      EXPECT_GT(log[i].sequence, log[i - 1].sequence);
    }
    EXPECT_EQ(!log[i].entry_id.empty(), want[i].has_entry);
    EXPECT_EQ(!log[i].before.empty(), want[i].has_before);
    EXPECT_EQ(!log[i].after.empty(), want[i].has_after);
    if (!log[i].before.empty()) {
      EXPECT_TRUE(nlohmann::json::accept(log[i].before)) << log[i].before;
    }
    if (!log[i].after.empty()) {
      EXPECT_TRUE(nlohmann::json::accept(log[i].after)) << log[i].after;
    }
  }
  auto json = [](const std::string &text) {
    return nlohmann::json::parse(text);
  };
  EXPECT_EQ(json(log[0].after)["ip_range"], "192.0.2.0/24");
  EXPECT_EQ(json(log[0].after)["id"], v.entry.id);
  EXPECT_EQ(json(log[1].before)["description"], "office");
  EXPECT_EQ(json(log[1].after)["description"], "hq");
  EXPECT_EQ(json(log[2].before)["enabled"], true);
  EXPECT_EQ(json(log[2].after)["enabled"], false);
  EXPECT_EQ(json(log[4].before)["mode"], "off");
  EXPECT_EQ(json(log[4].after)["mode"], "enforce");
  EXPECT_EQ(json(log[4].after)["confirm_deadline"], kStart + 4 + 60'000);
  EXPECT_EQ(json(log[5].after)["confirm_deadline"], nullptr);
  EXPECT_EQ(json(log[6].after)["mode"], "off");
  EXPECT_EQ(json(log[7].before)["ip_range"], "192.0.2.0/24");

  // Paging: newest first.
  auto page = service_->audit(1, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 10);
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].action, "replace");
  EXPECT_EQ(page->records[1].action, "delete");
}

TEST_F(ListServiceTest, KernelFailureLeavesStoreUnchanged) {
  EntryView a = add_one("192.0.2.0/24", "a");
  EntryView b = add_one("198.51.100.0/24", "b");
  Snapshot before = snapshot();
  const KernelState old_kernel = *kernel_.applied;

  auto expect_failed_and_reverted = [&](const Error &error,
                                        std::size_t calls_before) {
    EXPECT_EQ(error.code, ErrorCode::KernelUpdateFailed);
    expect_unchanged(before);
    // The failed attempt, then the old state again.
    ASSERT_EQ(kernel_.calls.size(), calls_before + 2);
    EXPECT_EQ(kernel_.calls.back().mode, old_kernel.mode);
    EXPECT_EQ(ranges_of(kernel_.calls.back().allow),
              ranges_of(old_kernel.allow));
  };

  std::size_t n = kernel_.calls.size();
  kernel_.fail_next = 1;
  auto added = service_->add({entry("203.0.113.0/24")}, "alice");
  ASSERT_FALSE(added.ok());
  expect_failed_and_reverted(added.error(), n);

  n = kernel_.calls.size();
  kernel_.fail_next = 1;
  auto updated = service_->update(a.entry.id, range_patch("203.0.113.0/24"),
                                  "alice", false);
  ASSERT_FALSE(updated.ok());
  expect_failed_and_reverted(updated.error(), n);

  n = kernel_.calls.size();
  kernel_.fail_next = 1;
  auto disabled = service_->set_enabled(b.entry.id, false, "alice", false);
  ASSERT_FALSE(disabled.ok());
  expect_failed_and_reverted(disabled.error(), n);

  n = kernel_.calls.size();
  kernel_.fail_next = 1;
  Status removed = service_->remove(a.entry.id, "alice", false);
  ASSERT_FALSE(removed.ok());
  expect_failed_and_reverted(removed.error(), n);

  n = kernel_.calls.size();
  kernel_.fail_next = 1;
  auto activated = service_->activate(request(Mode::Enforce), "alice");
  ASSERT_FALSE(activated.ok());
  expect_failed_and_reverted(activated.error(), n);

  n = kernel_.calls.size();
  kernel_.fail_next = 1;
  Status all = service_->remove_all("alice");
  ASSERT_FALSE(all.ok());
  expect_failed_and_reverted(all.error(), n);

  n = kernel_.calls.size();
  kernel_.fail_next = 1;
  auto imported = service_->import_csv(
      "ip_address,description\n203.0.113.0/24,x\n", true, "a", false);
  ASSERT_FALSE(imported.ok());
  expect_failed_and_reverted(imported.error(), n);

  // The same operation goes through once the kernel recovers.
  ASSERT_TRUE(service_->add({entry("203.0.113.0/24")}, "alice").ok());
  EXPECT_EQ(kernel_.applied->allow.size(), 3u);
}

// A change of 10,000 entries or more goes into the store and the kernel at
// the same time (each takes seconds at a million): whichever refuses it,
// the other is undone.
TEST_F(ListServiceTest, LargeImportTheKernelRefusesLeavesTheStoreUnchanged) {
  add_one("192.0.2.0/24", "a");
  const Snapshot before = snapshot();
  const std::string csv =
      import_file(15000, [](int i) { return "10.0." + low_parts(i) + ","; });
  for (bool replace : {false, true}) {
    SCOPED_TRACE(replace ? "replace" : "import");
    kernel_.fail_next = 1;
    auto imported = service_->import_csv(csv, replace, "carol", true);
    ASSERT_FALSE(imported.ok());
    EXPECT_EQ(imported.error().code, ErrorCode::KernelUpdateFailed);
    expect_unchanged(before);
  }
}

TEST_F(ListServiceTest, LargeImportTheStoreRefusesPutsTheKernelBack) {
  add_one("192.0.2.0/24", "a");
  const Snapshot before = snapshot();
  // Every new row is refused, as by a full disk (a trigger's refusal is a
  // constraint failure to SQLite).
  test::sql(dir_ / "xdpgate.db",
            "CREATE TRIGGER refuse BEFORE INSERT ON entries "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
  const std::string csv =
      import_file(15000, [](int i) { return "10.0." + low_parts(i) + ","; });
  for (bool replace : {false, true}) {
    SCOPED_TRACE(replace ? "replace" : "import");
    const std::size_t calls = kernel_.calls.size();
    auto imported = service_->import_csv(csv, replace, "carol", true);
    ASSERT_FALSE(imported.ok());
    EXPECT_EQ(imported.error().code, ErrorCode::StoreConflict);
    // The kernel took the change while the store wrote it, then the old
    // list again.
    ASSERT_EQ(kernel_.calls.size(), calls + 2);
    EXPECT_EQ(kernel_.calls[calls].allow.size(), replace ? 15000u : 15001u);
    expect_unchanged(before);
  }
  // A small change never reaches the kernel when the store refuses it.
  const std::size_t calls = kernel_.calls.size();
  auto added = service_->add({entry("203.0.113.0/24")}, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(kernel_.calls.size(), calls);
  expect_unchanged(before);

  test::sql(dir_ / "xdpgate.db", "DROP TRIGGER refuse");
  ASSERT_TRUE(service_->import_csv(csv, true, "carol", true).ok());
  EXPECT_EQ(kernel_.applied->allow.size(), 15000u);
}

TEST_F(ListServiceTest, KernelFailureDuringTickIsRetried) {
  add_one("192.0.2.0/24");
  NewEntry temporary = entry("198.51.100.7");
  temporary.expires_at = kStart + 1000;
  EntryView v = add_one(temporary);
  now_ = kStart + 1000;
  kernel_.fail_next = 1;
  service_->tick();
  EXPECT_TRUE(service_->get(v.entry.id)->entry.enabled);
  EXPECT_TRUE(stored_entry(v.entry.id).enabled);
  service_->tick();
  EXPECT_FALSE(service_->get(v.entry.id)->entry.enabled);
}

TEST_F(ListServiceTest, StateSurvivesReopen) {
  EntryView a = add_one(entry("192.0.2.0/24", "office"), "alice");
  NewEntry temporary = entry("2001:db8::/32", "vendor", false);
  temporary.expires_at = kStart + kDay;
  add_one(temporary);
  now_ += 1000;
  ASSERT_TRUE(service_->add({entry("192.0.2.0/24", "hq")}, "bob").ok());
  activate(Mode::Monitor, 300);
  std::vector<Entry> before = records(service_->list(true));
  RestrictionState state = service_->state();
  std::int64_t audits = audit_total();

  service_.reset(); // closes the store
  kernel_.applied.reset();
  kernel_.calls.clear();
  kernel_.changes.clear();
  now_ += 1000;
  open_service();
  ASSERT_TRUE(service_);

  EXPECT_EQ(records(service_->list(true)), before);
  EXPECT_EQ(service_->get(a.entry.id)->entry.updated_at, kStart + 1000);
  EXPECT_EQ(service_->state(), state);
  EXPECT_EQ(state.mode, Mode::Monitor);
  EXPECT_EQ(state.confirm_deadline, kStart + 1000 + 300'000);
  EXPECT_EQ(audit_total(), audits);
  // Opening syncs the kernel to the stored state.
  ASSERT_EQ(kernel_.calls.size(), 1u);
  EXPECT_EQ(kernel_.applied->mode, Mode::Monitor);
  EXPECT_EQ(ranges_of(kernel_.applied->allow),
            std::vector<std::string>{"192.0.2.0/24"});
  // The pending confirmation still runs out.
  now_ = kStart + 1000 + 300'000;
  service_->tick();
  EXPECT_FALSE(service_->state().active());
}

// --- Warnings
// -------------------------------------------------------------------

TEST_F(ListServiceTest, OverlappingEntriesAreReportedAsWarnings) {
  EntryView wide = add_one("10.0.0.0/8");
  EntryView mid = add_one("10.1.0.0/16");
  EntryView host = add_one("10.1.2.3");
  add_one("192.0.2.0/24");
  EntryView v6 = add_one("2001:db8::/32");
  EntryView v6_narrow = add_one("2001:db8:1::/48");
  EntryView off_outer = add_one(entry("172.16.0.0/12", std::nullopt, false));
  add_one("172.16.1.0/24");

  ListWarnings w = service_->warnings(std::chrono::milliseconds(kDay));
  ASSERT_EQ(w.overlaps.size(), 3u) << ::testing::PrintToString(w.overlaps);
  auto reported = [&](const EntryView &inner, const EntryView &outer) {
    return std::any_of(
        w.overlaps.begin(), w.overlaps.end(), [&](const std::string &s) {
          return s.find(inner.entry.id) != std::string::npos &&
                 s.find(outer.entry.id) != std::string::npos &&
                 s.find(inner.entry.range.to_string()) != std::string::npos &&
                 s.find(outer.entry.range.to_string()) != std::string::npos;
        });
  };
  EXPECT_TRUE(reported(mid, wide));
  EXPECT_TRUE(reported(host, mid)); // the nearest enclosing range
  EXPECT_TRUE(reported(v6_narrow, v6));
  (void)off_outer; // disabled: 172.16.1.0/24 inside it is no warning
}

TEST_F(ListServiceTest, EntriesWithoutHitsForLongAreStale) {
  const EpochMs month = 30 * kDay;
  now_ = kStart - 2 * month;
  EntryView recent_hit = add_one("192.0.2.0/24");
  EntryView old_hit = add_one("198.51.100.0/24");
  EntryView never_hit = add_one("203.0.113.0/24");
  EntryView disabled = add_one(entry("10.0.0.0/8", std::nullopt, false));
  now_ = kStart - kDay;
  EntryView young = add_one("2001:db8::/32");
  now_ = kStart;
  kernel_.counted[prefix("192.0.2.0/24")] = {10, kStart - 1000};
  kernel_.counted[prefix("198.51.100.0/24")] = {10, kStart - month - 1};

  ListWarnings w = service_->warnings(std::chrono::milliseconds(month));
  EXPECT_EQ(sorted(w.stale_ids),
            sorted({old_hit.entry.id, never_hit.entry.id}));
  EXPECT_TRUE(w.overlaps.empty());
  EXPECT_EQ(service_->get(recent_hit.entry.id)->hits, 10u);
  EXPECT_EQ(service_->get(recent_hit.entry.id)->last_hit_at, kStart - 1000);
  (void)disabled;
  (void)young;
}

// The kernel's counters are read only for entries that may be stale (no
// sign of use for the period without them): none for a fresh list however
// large, one by one for a few, in one batched read for many.
TEST_F(ListServiceTest,
       StaleWarningsReadTheCountersOfPossiblyStaleEntriesOnly) {
  const EpochMs month = 30 * kDay;
  const auto stale_after = std::chrono::milliseconds(month);
  auto reads = [this] {
    return std::pair(kernel_.hit_reads, kernel_.batched_reads);
  };
  auto ranges_from = [](int first, int count) {
    std::vector<NewEntry> out;
    for (int i = first; i < first + count; ++i)
      out.push_back(entry("10." + std::to_string(i / 256) + "." +
                          std::to_string(i % 256) + ".0/24"));
    return out;
  };

  now_ = kStart - 2 * month;
  ASSERT_TRUE(service_->add(ranges_from(0, 10), "alice").ok());
  now_ = kStart - kDay;
  ASSERT_TRUE(service_->add(ranges_from(10, 6000), "alice").ok());
  now_ = kStart;
  auto before = reads();
  ListWarnings w = service_->warnings(stale_after);
  EXPECT_EQ(w.stale_ids.size(), 10u);
  EXPECT_EQ(reads().first - before.first, 10u) << "one read per old entry";
  EXPECT_EQ(reads().second, before.second);

  // A month later all 6,010 may be stale; half had a hit yesterday.
  now_ = kStart + month;
  std::set<std::string> used;
  for (const EntryView &v : service_->list(false)) {
    if (used.size() * 2 < 6010 && v.entry.id.back() % 2 == 0) {
      kernel_.count(v.entry.range, 1, now_ - kDay);
      used.insert(v.entry.id);
    }
  }
  before = reads();
  w = service_->warnings(stale_after);
  EXPECT_EQ(reads().first, before.first);
  EXPECT_EQ(reads().second - before.second, 1u) << "one batched read";
  ASSERT_EQ(w.stale_ids.size(), 100u) << "at most 100 are reported";
  for (const std::string &id : w.stale_ids)
    EXPECT_EQ(used.count(id), 0u) << id << " had a hit yesterday";
}

// --- Statistics across changes
// -------------------------------------------------------------------

// The kernel's counters of a range start from zero when it enters the maps;
// an entry's history must not, or disabling it for a minute makes it stale.
TEST_F(ListServiceTest, HitsSurviveDisableAndEnable) {
  EntryView office = add_one("192.0.2.0/24");
  add_one("198.51.100.0/24");
  kernel_.count(prefix("192.0.2.0/24"), 7, kStart - 60'000);
  now_ += 1000;
  ASSERT_TRUE(service_->set_enabled(office.entry.id, false, "alice", false));
  EXPECT_EQ(service_->get(office.entry.id)->hits, 7u);
  ASSERT_TRUE(service_->set_enabled(office.entry.id, true, "alice", false));
  EntryView back = *service_->get(office.entry.id);
  EXPECT_EQ(back.hits, 7u);
  EXPECT_EQ(back.last_hit_at, kStart - 60'000);
  // New packets add to the history.
  kernel_.count(prefix("192.0.2.0/24"), 2, kStart + 500);
  back = *service_->get(office.entry.id);
  EXPECT_EQ(back.hits, 9u);
  EXPECT_EQ(back.last_hit_at, kStart + 500);
  // Not stale: its last hit is a minute old.
  ListWarnings w = service_->warnings(std::chrono::milliseconds(kDay));
  EXPECT_TRUE(std::find(w.stale_ids.begin(), w.stale_ids.end(),
                        office.entry.id) == w.stale_ids.end());
  // And it is durable: a restarted daemon still knows.
  ASSERT_TRUE(service_->set_enabled(office.entry.id, false, "alice", false));
  service_.reset();
  open_service();
  EXPECT_EQ(service_->get(office.entry.id)->hits, 9u);
}

TEST_F(ListServiceTest, HitsSurviveAChangeOfRange) {
  EntryView office = add_one("192.0.2.0/24");
  kernel_.count(prefix("192.0.2.0/24"), 5, kStart - 10);
  auto moved = service_->update(office.entry.id, range_patch("192.0.2.0/23"),
                                "alice", false);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->hits, 5u);
  EXPECT_EQ(moved->last_hit_at, kStart - 10);
}

// A replace or an import finds the entries it changes once and hands them to
// the commit: the ones it disables must still keep what the kernel counted.
TEST_F(ListServiceTest, HitsSurviveAReplaceOrImportThatDisablesTheEntry) {
  EntryView office = add_one("192.0.2.0/24");
  EntryView lab = add_one("198.51.100.0/24");
  kernel_.count(prefix("192.0.2.0/24"), 4, kStart - 20);
  kernel_.count(prefix("198.51.100.0/24"), 6, kStart - 30);
  ASSERT_TRUE(service_
                  ->replace({entry("192.0.2.0/24", std::nullopt, false),
                             entry("198.51.100.0/24"), entry("203.0.113.0/24")},
                            "alice", false)
                  .ok());
  EntryView replaced = *service_->get(office.entry.id);
  EXPECT_FALSE(replaced.entry.enabled);
  EXPECT_EQ(replaced.hits, 4u);
  EXPECT_EQ(replaced.last_hit_at, kStart - 20);

  auto report = service_->import_csv(
      "ip_address,description,enabled,expires_at\n198.51.100.0/24,,false,\n",
      false, "alice", false);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EntryView imported = *service_->get(lab.entry.id);
  EXPECT_FALSE(imported.entry.enabled);
  EXPECT_EQ(imported.hits, 6u);
  EXPECT_EQ(imported.last_hit_at, kStart - 30);
}

// Export writes no statistics, so it reads none; the list reads them in one
// batch, and the warnings too.
TEST_F(ListServiceTest, WholeListAnswersReadTheKernelInOneBatch) {
  for (int i = 0; i < 50; ++i)
    add_one("10.0." + low_parts(i) + "/32");
  kernel_.hit_reads = kernel_.batched_reads = 0;
  (void)exported(*service_);
  EXPECT_EQ(kernel_.hit_reads + kernel_.batched_reads, 0u);
  EXPECT_EQ(service_->list(true).size(), 50u);
  EXPECT_EQ(kernel_.hit_reads, 0u);
  EXPECT_EQ(kernel_.batched_reads, 1u);
  // None of the 50 can be stale yet: the warnings read no counters at all.
  (void)service_->warnings(std::chrono::milliseconds(kDay));
  EXPECT_EQ(kernel_.hit_reads + kernel_.batched_reads, 1u);
}

// --- Upserts set what they are given
// -------------------------------------------------------------------

TEST_F(ListServiceTest, UpsertOfAListedRangeSetsEnabledAndExpiryWhenGiven) {
  EntryView listed = add_one("192.0.2.0/24", "office");
  add_one("198.51.100.0/24");
  now_ += 1000;
  auto added = service_->add(
      {expiring(entry("192.0.2.0/24", "office", false), kStart + kDay)}, "bob");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_FALSE(added->front().created);
  const Entry &e = added->front().view.entry;
  EXPECT_EQ(e.id, listed.entry.id);
  EXPECT_FALSE(e.enabled);
  EXPECT_EQ(e.expires_at, kStart + kDay);
  EXPECT_EQ(e.updated_at, kStart + 1000);
  EXPECT_EQ(e.created_by, "alice");
  EXPECT_EQ(stored_entry(listed.entry.id), e);
  EXPECT_TRUE(ranges_of(kernel_.applied->allow) ==
              std::vector<std::string>{"198.51.100.0/24"});
  // Not given: left as they are.
  added = service_->add({entry("192.0.2.0/24", "office")}, "bob");
  ASSERT_TRUE(added.ok());
  EXPECT_FALSE(added->front().view.entry.enabled);
  EXPECT_EQ(added->front().view.entry.expires_at, kStart + kDay);
}

TEST_F(ListServiceTest, UpsertThatDisablesTheLastEnabledEntryNeedsForce) {
  EntryView only = add_one("192.0.2.0/24");
  activate();
  NewEntry off = entry("192.0.2.0/24", std::nullopt, false);
  auto refused = service_->add({off}, "alice");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::LastEnabledEntry);
  EXPECT_TRUE(service_->get(only.entry.id)->entry.enabled);
  ASSERT_TRUE(service_->add({off}, "alice", true).ok());
  EXPECT_FALSE(service_->get(only.entry.id)->entry.enabled);
}

// --- Import and concurrent changes
// -------------------------------------------------------------------

// A replace-import keeps what each staying entry has when the file does not
// say (a two-column file): what it has at the moment of the change, not at
// some earlier moment. A disable acknowledged while the import runs must
// hold once both are done, whichever went first.
TEST_F(ListServiceTest, DisableRacingAReplaceImportIsNeverUndone) {
  constexpr int kRows = 4000;
  constexpr int kRounds = 25;
  const std::string file =
      import_file(kRows, [](int i) { return "10." + low_parts(i) + ".0/24"; });
  ASSERT_TRUE(service_->import_csv(file, false, "alice", false).ok());
  const std::string target = service_->list(true).front().entry.id;
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_TRUE(service_->set_enabled(target, true, "alice", false).ok());
    std::thread import([&] {
      auto done = service_->import_csv(file, true, "bob", false);
      EXPECT_TRUE(done.ok());
    });
    // Each round lands the disable at another moment of the import (before,
    // during or after it); it is acknowledged either way.
    std::this_thread::sleep_for(std::chrono::microseconds(400 * round));
    auto disabled = service_->set_enabled(target, false, "carol", false);
    import.join();
    ASSERT_TRUE(disabled.ok()) << disabled.error().message;
    ASSERT_FALSE(service_->get(target)->entry.enabled)
        << "round " << round << ": the import re-enabled an entry disabled "
        << "while it ran";
    ASSERT_FALSE(stored_entry(target).enabled) << "round " << round;
  }
}

} // namespace
} // namespace xdpgate
