// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Dry runs (SPEC §2, §3), against ListService with a real SQLite store in a
// temporary directory and a fake kernel. Every change the list takes can be
// previewed: the preview answers exactly what the real call then answers,
// refusals included, changes nothing anywhere (the store's files byte for
// byte, the kernel, the audit log, the list's order), and says which sources
// seen lately the change would start or stop dropping and whether the
// caller's own address would be cut off.
#include "list/list_service.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model/entry_json.hpp"
#include "store/sqlite_store.hpp"
#include "support/kernel_model.hpp"
#include "support/new_ids.hpp"

namespace xdpgate {
namespace {

using nlohmann::json;
using test::without_new_ids;

constexpr EpochMs kNow = 1'763'880'000'000;
constexpr EpochMs kHour = 3600 * 1000;

IpPrefix address(const std::string &text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : IpPrefix{};
}

NewEntry entry(std::string range, std::optional<std::string> description = {}) {
  NewEntry e;
  e.ip_range = std::move(range);
  e.description = std::move(description);
  return e;
}

ActivateRequest enforce() { return ActivateRequest{Mode::Enforce, false, {}}; }

SeenSource seen(const std::string &text, std::uint64_t packets,
                EpochMs at = kNow) {
  return SeenSource{address(text), packets, at};
}

std::vector<std::string> addresses(const std::vector<SeenSource> &sources) {
  std::vector<std::string> out;
  for (const SeenSource &s : sources)
    out.push_back(s.address.to_string());
  return out;
}

// An operation's answer as comparable JSON: the error's code and message,
// or what it returned.
template <typename T> json answer_of(const Result<T> &r);

json refusal(const Error &e) {
  return {{"error", wire_name(e.code)}, {"message", e.message}};
}

json view_json(const EntryView &v) {
  json out = to_json(v.entry);
  out["hits"] = v.hits;
  return out;
}

template <> json answer_of(const Result<std::vector<AddOutcome>> &r) {
  if (!r)
    return refusal(r.error());
  json out = json::array();
  for (const AddOutcome &o : *r)
    out.push_back({{"created", o.created}, {"entry", view_json(o.view)}});
  return out;
}
template <> json answer_of(const Result<std::vector<EntryView>> &r) {
  if (!r)
    return refusal(r.error());
  json out = json::array();
  for (const EntryView &v : *r)
    out.push_back(view_json(v));
  return out;
}
template <> json answer_of(const Result<EntryView> &r) {
  if (!r)
    return refusal(r.error());
  return view_json(*r);
}
template <> json answer_of(const Result<void> &r) {
  if (!r)
    return refusal(r.error());
  return "ok";
}
template <> json answer_of(const Result<RestrictionState> &r) {
  if (!r)
    return refusal(r.error());
  return to_json(*r);
}
template <> json answer_of(const Result<ImportReport> &r) {
  if (!r)
    return refusal(r.error());
  return {{"added", r->summary.added.first},
          {"updated", r->summary.updated.first},
          {"removed", r->summary.removed.first},
          {"unchanged", r->summary.unchanged.first},
          {"errors", r->errors.size()}};
}

// A change as a test runs it twice: previewed, then for real.
struct Change {
  const char *name;
  std::function<json(ListService &, const std::map<std::string, std::string> &)>
      run; // the map names the fixture's ids
};

class DryRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/xdpgate-dry-run-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto store = SqliteStore::open(dir_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto opened = ListService::open(
        std::make_unique<SqliteStore>(std::move(store.value())), kernel_,
        [] { return kNow; });
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    service_ = std::move(opened.value());
  }

  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string add(const std::string &range) {
    auto added = service_->add({entry(range, "seed")}, "alice");
    EXPECT_TRUE(added.ok()) << range;
    return added.ok() ? added->front().view.entry.id : "";
  }

  // The list the changes below start from: three entries, one nested in
  // another, the restriction enforcing.
  std::map<std::string, std::string> seed() {
    std::map<std::string, std::string> ids = {
        {"wide", add("10.0.0.0/8")},
        {"nested", add("10.1.0.0/16")},
        {"office", add("203.0.113.0/24")}};
    EXPECT_TRUE(service_->activate(enforce(), "alice").ok());
    return ids;
  }

  // Everything a dry run must leave alone, as one comparable text: every
  // file of the state directory byte for byte (SQLite's database and
  // write-ahead log), the list in its order, the state, the audit log, and
  // every change the kernel was asked for.
  std::string everything() const {
    std::ostringstream out;
    for (const auto &file : std::filesystem::directory_iterator(dir_)) {
      // The -shm file is SQLite's index of the log, which readers write to.
      if (file.path().string().ends_with("-shm"))
        continue;
      std::ifstream in(file.path(), std::ios::binary);
      out << file.path().filename() << ':' << in.rdbuf() << '\n';
    }
    for (const EntryView &v : service_->list(true))
      out << to_json(v.entry).dump() << '\n';
    out << to_json(service_->state()).dump() << '\n';
    auto audit = service_->audit(0, 1000);
    out << "audit " << (audit ? audit->total : -1) << '\n';
    out << "kernel changes " << kernel_.changes.size() << '\n';
    return out.str();
  }

  std::set<std::string> known_ids() const {
    std::set<std::string> ids;
    for (const EntryView &v : service_->list(true))
      ids.insert(v.entry.id);
    return ids;
  }

  Impact preview(const std::function<void()> &change, DryRunInput input = {}) {
    return service_->dry_run(input, change);
  }

  std::filesystem::path dir_;
  ModelKernel kernel_;
  std::unique_ptr<ListService> service_;
};

using Ids = std::map<std::string, std::string>;

NewEntry disabled(NewEntry e) {
  e.enabled = false;
  return e;
}

const Change kChanges[] = {
    {"add a new range",
     [](ListService &s, const Ids &) {
       return answer_of(s.add({entry("198.51.100.0/24", "new")}, "bob"));
     }},
    {"add a listed range (an upsert)",
     [](ListService &s, const Ids &) {
       return answer_of(s.add({entry("203.0.113.0/24", "renamed")}, "bob"));
     }},
    {"add several",
     [](ListService &s, const Ids &) {
       return answer_of(s.add(
           {entry("198.51.100.0/24"), entry("2001:db8::/32", "v6")}, "bob"));
     }},
    {"add a range twice: refused",
     [](ListService &s, const Ids &) {
       return answer_of(
           s.add({entry("198.51.100.0/24"), entry("198.51.100.0/24")}, "bob"));
     }},
    {"replace the list",
     [](ListService &s, const Ids &) {
       return answer_of(
           s.replace({entry("203.0.113.0/24", "kept"), entry("192.0.2.0/24")},
                     "bob", false));
     }},
    {"replace with no enabled entry: refused",
     [](ListService &s, const Ids &) {
       return answer_of(
           s.replace({disabled(entry("192.0.2.0/24"))}, "bob", false));
     }},
    {"update a description",
     [](ListService &s, const Ids &ids) {
       EntryPatch p;
       p.description = std::optional<std::string>("moved");
       return answer_of(s.update(ids.at("office"), p, "bob", false));
     }},
    {"update a range",
     [](ListService &s, const Ids &ids) {
       EntryPatch p;
       p.ip_range = "203.0.113.0/25";
       return answer_of(s.update(ids.at("office"), p, "bob", false));
     }},
    {"update to a listed range: refused",
     [](ListService &s, const Ids &ids) {
       EntryPatch p;
       p.ip_range = "10.0.0.0/8";
       return answer_of(s.update(ids.at("office"), p, "bob", false));
     }},
    {"disable",
     [](ListService &s, const Ids &ids) {
       return answer_of(s.set_enabled(ids.at("wide"), false, "bob", false));
     }},
    {"delete",
     [](ListService &s, const Ids &ids) {
       return answer_of(s.remove(ids.at("nested"), "bob", false));
     }},
    {"delete an unknown id: refused",
     [](ListService &s, const Ids &) {
       return answer_of(s.remove("ip_0000000000", "bob", false));
     }},
    {"delete everything",
     [](ListService &s, const Ids &) {
       return answer_of(s.remove_all("bob"));
     }},
    {"import",
     [](ListService &s, const Ids &) {
       return answer_of(s.import_csv("ip_address,description\n"
                                     "203.0.113.0/24,office\n"
                                     "198.51.100.7,vendor\n",
                                     false, "bob", false));
     }},
    {"import with replace",
     [](ListService &s, const Ids &) {
       return answer_of(s.import_csv("ip_address,description\n"
                                     "198.51.100.7,vendor\n",
                                     true, "bob", false));
     }},
    {"import replacing with nothing: refused",
     [](ListService &s, const Ids &) {
       return answer_of(
           s.import_csv("ip_address,description\n", true, "bob", false));
     }},
    {"activate in monitor mode with a confirmation",
     [](ListService &s, const Ids &) {
       return answer_of(
           s.activate(ActivateRequest{Mode::Monitor, false, 60}, "bob"));
     }},
    {"deactivate", [](ListService &s,
                      const Ids &) { return answer_of(s.deactivate("bob")); }},
};

TEST_F(DryRunTest, EveryChangeAnswersAsTheRealCallAndChangesNothing) {
  Ids ids = seed();
  for (const Change &change : kChanges) {
    SCOPED_TRACE(change.name);
    const std::set<std::string> known = known_ids();
    const std::string before = everything();
    json previewed;
    preview([&] { previewed = change.run(*service_, ids); });
    EXPECT_EQ(everything(), before) << "the dry run changed something";

    json real = change.run(*service_, ids);
    EXPECT_EQ(without_new_ids(previewed, known), without_new_ids(real, known));

    // Back to the seed (with new ids) for the next change.
    ASSERT_TRUE(service_->remove_all("test").ok());
    ids = seed();
  }
}

TEST_F(DryRunTest, ARefusalForWantOfCapacityIsTheRealCallsRefusal) {
  seed();
  kernel_.capacity = 3;
  const std::string before = everything();
  json previewed;
  preview([&] {
    previewed = answer_of(service_->add({entry("198.51.100.0/24")}, "bob"));
  });
  EXPECT_EQ(everything(), before);
  EXPECT_EQ(previewed["error"], "capacity_exceeded");
  EXPECT_EQ(previewed,
            answer_of(service_->add({entry("198.51.100.0/24")}, "bob")));
}

TEST_F(DryRunTest, ADeletedEntrysRecentTrafficStartsDropping) {
  const Ids ids = seed();
  kernel_.count(address("203.0.113.0/24"), 50, kNow - kHour);
  Impact impact =
      preview([&] { (void)service_->remove(ids.at("office"), "bob", false); });
  ASSERT_EQ(addresses(impact.start_dropping),
            std::vector<std::string>{"203.0.113.0/24"});
  EXPECT_EQ(impact.start_dropping[0].packets, 50u);
  EXPECT_EQ(impact.start_dropping[0].last_seen_at, kNow - kHour);
  EXPECT_TRUE(impact.stop_dropping.empty());
}

TEST_F(DryRunTest, TrafficACoveringEntryStillAllowsDoesNotStartDropping) {
  const Ids ids = seed();
  kernel_.count(address("10.1.0.0/16"), 7, kNow);
  Impact impact =
      preview([&] { (void)service_->remove(ids.at("nested"), "bob", false); });
  EXPECT_TRUE(impact.start_dropping.empty());
}

TEST_F(DryRunTest, ADeniedSourceAnAddLetsThroughStopsDropping) {
  seed();
  DryRunInput input;
  input.denied = {seen("198.51.100.9", 640), seen("192.0.2.1", 3)};
  Impact impact = preview(
      [&] { (void)service_->add({entry("198.51.100.0/24")}, "bob"); }, input);
  EXPECT_EQ(addresses(impact.stop_dropping),
            std::vector<std::string>{"198.51.100.9"});
  EXPECT_TRUE(impact.start_dropping.empty());
}

TEST_F(DryRunTest, ActivatingNamesTheSourcesEnforcingWouldDrop) {
  add("203.0.113.0/24");
  DryRunInput input;
  // Sampled while the restriction was off: they pass now, as would_drop.
  input.denied = {seen("198.51.100.9", 10), seen("192.0.2.1", 20)};
  Impact enforcing =
      preview([&] { (void)service_->activate(enforce(), "bob"); }, input);
  EXPECT_EQ(addresses(enforcing.start_dropping),
            (std::vector<std::string>{"192.0.2.1", "198.51.100.9"}))
      << "the most active first";
  Impact monitoring = preview(
      [&] {
        (void)service_->activate(ActivateRequest{Mode::Monitor, false, {}},
                                 "bob");
      },
      input);
  EXPECT_TRUE(monitoring.start_dropping.empty()) << "monitor drops nothing";
}

TEST_F(DryRunTest, DeactivatingStopsDroppingWhatWasDropped) {
  seed();
  DryRunInput input;
  input.denied = {seen("198.51.100.9", 10)};
  Impact impact = preview([&] { (void)service_->deactivate("bob"); }, input);
  EXPECT_EQ(addresses(impact.stop_dropping),
            std::vector<std::string>{"198.51.100.9"});
}

TEST_F(DryRunTest, SourcesNotSeenForADayAreLeftOut) {
  seed();
  DryRunInput input;
  input.denied = {seen("198.51.100.9", 10, kNow - 25 * kHour)};
  kernel_.count(address("203.0.113.0/24"), 50, kNow - 25 * kHour);
  Impact impact = preview(
      [&] {
        (void)service_->add({entry("198.51.100.0/24")}, "bob");
        (void)service_->remove_all("bob");
      },
      input);
  EXPECT_TRUE(impact.stop_dropping.empty());
  EXPECT_TRUE(impact.start_dropping.empty());
}

TEST_F(DryRunTest, TheCallerIsCutOffWhenNoEnabledEntryWouldHoldIt) {
  const Ids ids = seed();
  DryRunInput input;
  input.caller = address("203.0.113.100");
  struct Case {
    const char *name;
    std::function<void()> change;
    bool cut_off;
  } cases[] = {
      {"disabling its entry",
       [&] {
         (void)service_->set_enabled(ids.at("office"), false, "b", false);
       },
       true},
      {"deleting its entry",
       [&] { (void)service_->remove(ids.at("office"), "b", false); }, true},
      {"narrowing its entry",
       [&] {
         EntryPatch p;
         p.ip_range = "203.0.113.0/26";
         (void)service_->update(ids.at("office"), p, "b", false);
       },
       true},
      {"replacing the list without it",
       [&] { (void)service_->replace({entry("192.0.2.0/24")}, "b", false); },
       true},
      {"an import replacing the list without it",
       [&] {
         (void)service_->import_csv("ip_address,description\n192.0.2.0/24,\n",
                                    true, "b", false);
       },
       true},
      {"deleting another entry",
       [&] { (void)service_->remove(ids.at("nested"), "b", false); }, false},
      {"deleting everything (it deactivates)",
       [&] { (void)service_->remove_all("b"); }, false},
      {"deactivating", [&] { (void)service_->deactivate("b"); }, false},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    Impact impact = preview(c.change, input);
    EXPECT_EQ(impact.caller, input.caller);
    EXPECT_EQ(impact.caller_cut_off, c.cut_off);
  }
}

TEST_F(DryRunTest, AnExemptCallerIsNeverCutOff) {
  add("203.0.113.0/24");
  kernel_.exempt = {address("192.0.2.0/28")};
  DryRunInput input;
  input.caller = address("192.0.2.5");
  Impact impact =
      preview([&] { (void)service_->activate(enforce(), "bob"); }, input);
  EXPECT_FALSE(impact.caller_cut_off);
  input.caller = address("192.0.2.50");
  impact = preview([&] { (void)service_->activate(enforce(), "bob"); }, input);
  EXPECT_TRUE(impact.caller_cut_off);
}

TEST_F(DryRunTest, ImpactListsTheHundredMostActiveAndCountsAll) {
  seed();
  DryRunInput input;
  for (int i = 0; i < 150; ++i)
    input.denied.push_back(
        seen("198.51.100." + std::to_string(i), static_cast<unsigned>(i + 1)));
  Impact impact = preview([&] { (void)service_->deactivate("bob"); }, input);
  EXPECT_EQ(impact.stop_dropping_total, 150u);
  ASSERT_EQ(impact.stop_dropping.size(), Impact::kImpactListed);
  EXPECT_EQ(impact.stop_dropping.front().packets, 150u);
  EXPECT_EQ(impact.stop_dropping.back().packets, 51u);
}

TEST_F(DryRunTest, ASourceSampledOnTwoInterfacesIsOneSource) {
  seed();
  DryRunInput input;
  input.denied = {seen("198.51.100.9", 10, kNow - kHour),
                  seen("198.51.100.9", 5, kNow)};
  Impact impact = preview([&] { (void)service_->deactivate("bob"); }, input);
  ASSERT_EQ(impact.stop_dropping.size(), 1u);
  EXPECT_EQ(impact.stop_dropping[0].packets, 15u);
  EXPECT_EQ(impact.stop_dropping[0].last_seen_at, kNow);
}

} // namespace
} // namespace xdpgate
