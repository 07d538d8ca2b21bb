// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The fleet's keys and values in etcd (store/etcd_layout.hpp): what each
// key is, and that every value xdpgated writes reads back while anything
// else is refused, never half read.
#include "store/etcd_layout.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <span>

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
  EXPECT_EQ(layout.list(), "/xdpgate/prod/list/");
  EXPECT_EQ(layout.head(), "/xdpgate/prod/list/head");
  EXPECT_EQ(layout.state(), "/xdpgate/prod/list/state");
  EXPECT_EQ(layout.entry("g1", "ip_a"), "/xdpgate/prod/list/gen/g1/ip_a");
  EXPECT_EQ(layout.chunk("g1", 7), "/xdpgate/prod/chunks/g1/000007");
  EXPECT_EQ(layout.chunk("g1", 1234567), "/xdpgate/prod/chunks/g1/1234567");
  EXPECT_EQ(layout.host("edge-1"), "/xdpgate/prod/hosts/edge-1");
}

TEST(EtcdLayout, EveryKeyIsClassifiedAndOthersAreOther) {
  const EtcdLayout layout("/p/");
  EXPECT_EQ(layout.classify("/p/list/head").kind, Kind::Head);
  EXPECT_EQ(layout.classify("/p/list/state").kind, Kind::State);
  const auto entry = layout.classify("/p/list/gen/g1/ip_a");
  EXPECT_EQ(entry.kind, Kind::Entry);
  EXPECT_EQ(entry.generation, "g1");
  EXPECT_EQ(entry.name, "ip_a");
  const auto chunk = layout.classify("/p/chunks/g1/000003");
  EXPECT_EQ(chunk.kind, Kind::Chunk);
  EXPECT_EQ(chunk.generation, "g1");
  EXPECT_EQ(chunk.name, "000003");
  const auto host = layout.classify("/p/hosts/edge-1");
  EXPECT_EQ(host.kind, Kind::Host);
  EXPECT_EQ(host.name, "edge-1");
  for (const char *other :
       {"/p/head", "/p/list/heads", "/p/gen/g1/ip_a", "/p/list/gen/",
        "/p/list/gen/g1", "/p/list/gen/g1/", "/p/list/gen//ip_a",
        "/p/list/gen/g1/ip_a/b", "/p/chunks/g1", "/p/chunks/g1/", "/p/hosts/",
        "/q/list/head", "/p", "/p/unknown"})
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
  Result<Head> head = parse_head(head_value({"0123abcd", 3}));
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, (Head{"0123abcd", 3}));
}

TEST(EtcdLayout, AChangedEntryIsTheEntryOrItsTombstone) {
  const Entry e = an_entry();
  Result<std::optional<Entry>> changed = parse_changed(e.id, entry_value(e));
  ASSERT_TRUE(changed) << changed.error().message;
  ASSERT_TRUE(*changed);
  EXPECT_EQ(**changed, e);
  Result<std::optional<Entry>> deleted =
      parse_changed(e.id, tombstone_value(e.id));
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_FALSE(*deleted);
  for (const std::string &value :
       {tombstone_value("ip_other"),
        std::string(R"({"id":"ip_0123456789","deleted":false})"),
        std::string(R"({"id":"ip_0123456789","deleted":true,"x":1})"),
        std::string(R"({"deleted":true})"), std::string("not json")})
    EXPECT_FALSE(parse_changed(e.id, value)) << value;
}

// Entries of `n` bytes of description each, ids ip_0, ip_1, ...
std::vector<Entry> entries(std::size_t count, std::size_t description) {
  std::vector<Entry> list;
  for (std::size_t i = 0; i < count; ++i) {
    Entry e = an_entry();
    e.id = "ip_" + std::to_string(i);
    e.range = *IpPrefix::parse("10." + std::to_string(i / 65536 % 256) + "." +
                               std::to_string(i / 256 % 256) + "." +
                               std::to_string(i % 256) + "/32");
    e.description = std::string(description, 'd');
    list.push_back(e);
  }
  return list;
}

TEST(EtcdLayout, AListGoesIntoChunksUnderTheRequestLimitAndReadsBackWhole) {
  const std::vector<Entry> list = entries(20000, 200);
  std::vector<Entry> back;
  std::size_t chunks = 0;
  for (std::span<const Entry> rest(list); !rest.empty(); ++chunks) {
    std::size_t taken = 0;
    const std::string value = chunk_value(rest, taken);
    ASSERT_GT(taken, 0u);
    // Closed at the first entry past kChunkBytes: one entry over at most.
    EXPECT_LT(value.size(), kChunkBytes + 1024);
    // etcd's default --max-request-bytes, with the gateway's base64.
    EXPECT_LT(value.size() * 4 / 3 + 1024, 1536u * 1024);
    Result<Chunk> chunk = parse_chunk(value);
    ASSERT_TRUE(chunk) << chunk.error().message;
    EXPECT_TRUE(chunk->refused.empty());
    EXPECT_EQ(chunk->entries.size(), taken);
    back.insert(back.end(), chunk->entries.begin(), chunk->entries.end());
    rest = rest.subspan(taken);
  }
  EXPECT_GT(chunks, 5u);
  EXPECT_EQ(back, list);
  std::size_t taken = 7;
  Result<Chunk> empty = parse_chunk(chunk_value({}, taken));
  ASSERT_TRUE(empty);
  EXPECT_EQ(taken, 0u);
  EXPECT_TRUE(empty->entries.empty());
}

TEST(EtcdLayout, AChunksEntriesThatAreNotXdpgatesAreLeftOutAndNamed) {
  const std::vector<Entry> list = entries(3, 0);
  std::size_t taken = 0;
  nlohmann::json chunk = nlohmann::json::parse(chunk_value(list, taken));
  chunk["entries"][1][1] = "10.0.0.1/8"; // host bits
  chunk["entries"][2] = "not an entry";
  Result<Chunk> read = parse_chunk(chunk.dump());
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->entries.size(), 1u);
  EXPECT_EQ(read->entries[0], list[0]);
  ASSERT_EQ(read->refused.size(), 2u);
  EXPECT_NE(read->refused[0].find("ip_1"), std::string::npos)
      << read->refused[0];

  nlohmann::json renamed = nlohmann::json::parse(chunk_value(list, taken));
  renamed["fields"][0] = "key";
  nlohmann::json flat = nlohmann::json::parse(chunk_value(list, taken));
  flat["entries"] = 3;
  for (const std::string &value :
       {renamed.dump(), flat.dump(), std::string("[]"), std::string("{}")})
    EXPECT_FALSE(parse_chunk(value)) << value;
}

TEST(EtcdLayout, TheAuditsKeysListInSequenceOrder) {
  const EtcdLayout layout("/p/");
  EXPECT_EQ(layout.audit_last(), "/p/list/audit-last");
  EXPECT_EQ(layout.classify(layout.audit_last()).kind, Kind::AuditLast);
  EXPECT_EQ(layout.audit_index(42), "/p/audit/00000000000000000042");
  EXPECT_LT(layout.audit_index(9), layout.audit_index(10));
  EXPECT_EQ(layout.audit_part("t1", 3, 2), "/p/audit-body/t1/000003/002");
  EXPECT_EQ(layout.classify(layout.audit_index(1)).kind, Kind::Other);
}

TEST(EtcdLayout, AuditValuesReadBackAsWritten) {
  const AuditIndex index{41, 3, "edge-1", "0123abcd", 9000};
  Result<AuditIndex> back = parse_audit_index(audit_index_value(index));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, index);
  Result<std::int64_t> last = parse_audit_last(audit_last_value(43));
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, 43);
  AuditRecord record{0,
                     1796498814464,
                     "alice",
                     "add",
                     "ip_1",
                     "",
                     R"({"ip_range":"198.51.100.0/24"})"};
  Result<AuditRecord> read = parse_audit_record(audit_record_value(record));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->at, record.at);
  EXPECT_EQ(read->actor, "alice");
  EXPECT_EQ(read->entry_id, "ip_1");
  EXPECT_EQ(read->before, "");
  EXPECT_EQ(read->after, record.after);

  for (const char *value :
       {"", "{}", R"({"first":0,"records":1,"host":"h","body":"b","bytes":1})",
        R"({"first":1,"records":0,"host":"h","body":"b","bytes":1})",
        R"({"first":1,"records":1,"host":"h","body":"a/b","bytes":1})",
        R"({"first":1.5,"records":1,"host":"h","body":"b","bytes":1})"})
    EXPECT_FALSE(parse_audit_index(value)) << value;
  for (const char *value : {"", R"({"last":-1})", R"({"last":"3"})"})
    EXPECT_FALSE(parse_audit_last(value)) << value;
  EXPECT_FALSE(parse_audit_record(R"({"at":1,"actor":"a"})"));
}

TEST(EtcdLayout, TheAuditKeepsTheNewestThousandChangesUpTo64MiB) {
  const auto changes = [](std::size_t count, std::uint64_t bytes) {
    return std::vector<AuditIndex>(count, AuditIndex{1, 1, "h", "b", bytes});
  };
  EXPECT_EQ(audit_changes_kept({}), 0u);
  EXPECT_EQ(audit_changes_kept(changes(999, 1000)), 999u);
  EXPECT_EQ(audit_changes_kept(changes(1500, 1000)), kAuditChanges);
  // 6 × 10 MiB = 60 MiB; a 7th would pass 64.
  EXPECT_EQ(audit_changes_kept(changes(20, 10 << 20)), 6u);
  // The newest is kept whatever its size, and nothing older.
  std::vector<AuditIndex> huge = changes(5, 1000);
  huge[0].bytes = 200ull << 20;
  EXPECT_EQ(audit_changes_kept(huge), 1u);
}

TEST(EtcdLayout, ChunkedIdsHoldTheIdsTheyWereMadeOf) {
  std::vector<std::uint64_t> hashes;
  for (const char *id : {"ip_b", "ip_a", "ip_c"})
    hashes.push_back(ChunkedIds::hash(id));
  const ChunkedIds chunked(std::move(hashes));
  for (const char *id : {"ip_a", "ip_b", "ip_c"})
    EXPECT_TRUE(chunked.holds(id)) << id;
  EXPECT_FALSE(chunked.holds("ip_d"));
  EXPECT_FALSE(ChunkedIds().holds("ip_a"));
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
       {"", "{}", R"({"format":2})", R"({"format":2,"generation":"g"})",
        R"({"format":1,"generation":"g","chunks":0})", // the first layout
        R"({"format":3,"generation":"g","chunks":0})",
        R"({"format":2,"generation":"","chunks":0})",
        R"({"format":2,"generation":"a/b","chunks":0})",
        R"({"format":2,"generation":"g","chunks":-1})",
        R"({"format":2,"generation":"g","chunks":"1"})",
        R"({"format":2,"generation":"g","chunks":1.5})",
        R"({"format":"2","generation":"g","chunks":0})",
        R"({"format":1e300,"generation":"g","chunks":0})"})
    EXPECT_FALSE(parse_head(head)) << head;
  for (const char *state :
       {"", "garbage", R"({"mode":"enforce"})",
        R"({"mode":"block","revert_mode":"off","confirm_deadline":null})",
        R"({"mode":"enforce","revert_mode":"off","confirm_deadline":"x"})"})
    EXPECT_FALSE(parse_state(state)) << state;
}

} // namespace
} // namespace xdpgate
