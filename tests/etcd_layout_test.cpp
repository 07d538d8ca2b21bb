// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The fleet's keys and values in etcd (store/etcd_layout.hpp): what each
// key is, and that every value xdpgated writes reads back while anything
// else is refused, never half read.
#include "store/etcd_layout.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace xdpgate {
namespace {

using Kind = EtcdLayout::Key::Kind;

Entry an_entry() {
  Entry e;
  e.id = "ip_0123456789";
  e.range = *IpPrefix::parse("2001:db8::/48");
  e.description = "office \"north\"";
  e.enabled = false;
  e.created_by = "alice";
  e.created_at = 1796498814464;
  e.updated_at = 1796498815000;
  e.expires_at = 1800000000000;
  e.past_hits = 42;
  e.past_last_hit_at = 1796498814999;
  return e;
}

TEST(EtcdLayout, KeysLiveUnderThePrefix) {
  const EtcdLayout layout("/xdpgate/prod/");
  EXPECT_EQ(layout.head(), "/xdpgate/prod/head");
  EXPECT_EQ(layout.state(), "/xdpgate/prod/state");
  EXPECT_EQ(layout.entry("g1", "ip_a"), "/xdpgate/prod/gen/g1/ip_a");
  EXPECT_EQ(layout.host("edge-1"), "/xdpgate/prod/hosts/edge-1");
}

TEST(EtcdLayout, EveryKeyIsClassifiedAndOthersAreOther) {
  const EtcdLayout layout("/p/");
  EXPECT_EQ(layout.classify("/p/head").kind, Kind::Head);
  EXPECT_EQ(layout.classify("/p/state").kind, Kind::State);
  const auto entry = layout.classify("/p/gen/g1/ip_a");
  EXPECT_EQ(entry.kind, Kind::Entry);
  EXPECT_EQ(entry.generation, "g1");
  EXPECT_EQ(entry.name, "ip_a");
  const auto host = layout.classify("/p/hosts/edge-1");
  EXPECT_EQ(host.kind, Kind::Host);
  EXPECT_EQ(host.name, "edge-1");
  for (const char *other :
       {"/p/heads", "/p/gen/", "/p/gen/g1", "/p/gen/g1/", "/p/gen//ip_a",
        "/p/hosts/", "/q/head", "/p", "/p/unknown"})
    EXPECT_EQ(layout.classify(other).kind, Kind::Other) << other;
}

TEST(EtcdLayout, ValuesReadBackAsWritten) {
  const Entry e = an_entry();
  Result<Entry> back = parse_entry(e.id, entry_value(e));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, e);
  Entry bare;
  bare.id = "ip_z";
  bare.range = *IpPrefix::parse("198.51.100.0/24");
  Result<Entry> bare_back = parse_entry(bare.id, entry_value(bare));
  ASSERT_TRUE(bare_back) << bare_back.error().message;
  EXPECT_EQ(*bare_back, bare);

  RestrictionState pending{Mode::Enforce, 1796498900000, Mode::Monitor};
  Result<RestrictionState> state = parse_state(state_value(pending));
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, pending);
  Result<Head> head = parse_head(head_value({"0123abcd"}));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->generation, "0123abcd");
}

TEST(EtcdLayout, AnEntryThatIsNotXdpgatesIsRefused) {
  const Entry e = an_entry();
  const std::string good = entry_value(e);
  auto with = [&](const std::string &field, const std::string &json_value) {
    nlohmann::json o = nlohmann::json::parse(good);
    o[field] = nlohmann::json::parse(json_value);
    return o.dump();
  };
  const std::string refused[] = {
      "",
      "not json",
      "[]",
      "{}",
      with("ip_range", "\"10.0.0.1/8\""),  // host bits: not canonical
      with("ip_range", "\"10.0.0.0/08\""), // not as xdpgated writes it
      with("ip_range", "7"),
      with("id", "\"ip_other\""), // another key's
      with("enabled", "\"yes\""),
      with("description", "\"" + std::string(257, 'x') + "\""),
      with("created_at", "\"yesterday\""),
      with("expires_at", "\"soon\""),
      with("created_at", "1.5e300"), // a float: never converted
      with("past_hits", "-1"),
  };
  for (const std::string &value : refused) {
    Result<Entry> read = parse_entry(e.id, value);
    ASSERT_FALSE(read) << value;
    EXPECT_EQ(read.error().code, ErrorCode::StoreCorrupt);
  }
  for (const char *id :
       {"notanid", "ip_", "ip_ABC", "ip_0123456789abc", "ip_a/b"})
    EXPECT_FALSE(parse_entry(id, with("id", std::string("\"") + id + "\"")))
        << id;
}

TEST(EtcdLayout, AHeadOrStateThatIsNotXdpgatesIsRefused) {
  for (const char *head :
       {"", "{}", R"({"format":1})", R"({"format":2,"generation":"g"})",
        R"({"format":1,"generation":""})", R"({"format":1,"generation":"a/b"})",
        R"({"format":"1","generation":"g"})",
        R"({"format":1e300,"generation":"g"})"})
    EXPECT_FALSE(parse_head(head)) << head;
  for (const char *state :
       {"", "garbage", R"({"mode":"enforce"})",
        R"({"mode":"block","revert_mode":"off","confirm_deadline":null})",
        R"({"mode":"enforce","revert_mode":"off","confirm_deadline":"x"})"})
    EXPECT_FALSE(parse_state(state)) << state;
}

} // namespace
} // namespace xdpgate
