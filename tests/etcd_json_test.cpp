// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// etcd's JSON gateway, spoken without etcd: the shapes below are what etcd
// 3.4 answers (captured with curl), down to the fields it leaves out.
#include "etcd/etcd_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

namespace xdpgate::etcd {
namespace {

using nlohmann::json;

TEST(EtcdJson, Base64RoundTripsEveryLengthAndByte) {
  std::mt19937 random(7);
  for (std::size_t length = 0; length < 64; ++length) {
    std::string bytes(length, '\0');
    for (char &c : bytes)
      c = static_cast<char>(random());
    Result<std::string> back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back) << length;
    EXPECT_EQ(*back, bytes) << length;
  }
  EXPECT_EQ(base64_encode("/xdp/a"), "L3hkcC9h");
  EXPECT_EQ(base64_encode("1"), "MQ==");
  EXPECT_EQ(base64_encode("12"), "MTI=");
}

TEST(EtcdJson, Base64RefusesWhatIsNotBase64) {
  for (const char *bad :
       {"!!!!", "MQ=", "M===", "MQ==MQ==", "L3hkcC9h\n", "MR==", "MTJ="})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(EtcdJson, APrefixsRangeEndsAfterItsLastKey) {
  EXPECT_EQ(prefix_end("/xdpgate/"), "/xdpgate0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdJson, ARangeRequestCarriesOnlyWhatIsSet) {
  EXPECT_EQ(json::parse(range_request({"/a"})), json({{"key", "L2E="}}));
  EXPECT_EQ(json::parse(range_request({"/a", "/b", 7, 100})),
            json({{"key", "L2E="},
                  {"range_end", "L2I="},
                  {"revision", "7"},
                  {"limit", "100"}}));
}

TEST(EtcdJson, ATxnRequestSpellsCompareAndOperations) {
  Txn txn{{Compare{"/h", Compare::Target::Mod, Compare::Result::Equal, 5}},
          {Put{"/h", "x", 9}, DeleteRange{"/g/", "/g0"}},
          {Range{"/h"}}};
  const json expected = {
      {"compare",
       {{{"key", "L2g="},
         {"target", "MOD"},
         {"result", "EQUAL"},
         {"mod_revision", "5"}}}},
      {"success",
       {{{"request_put", {{"key", "L2g="}, {"value", "eA=="}, {"lease", "9"}}}},
        {{"request_delete_range", {{"key", "L2cv"}, {"range_end", "L2cw"}}}}}},
      {"failure", {{{"request_range", {{"key", "L2g="}}}}}}};
  EXPECT_EQ(json::parse(txn_request(txn)), expected);
}

TEST(EtcdJson, ARangeAnswerGivesKeysValuesAndRevisions) {
  const char *body =
      R"({"header":{"cluster_id":"1","member_id":"2","revision":"12","raft_term":"2"},)"
      R"("kvs":[{"key":"L3hkcC9h","create_revision":"2","mod_revision":"9",)"
      R"("version":"3","value":"MQ=="}],"more":true,"count":"4"})";
  Result<RangeResult> result = parse_range(200, body);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->revision, 12);
  ASSERT_EQ(result->kvs.size(), 1u);
  EXPECT_EQ(result->kvs[0].key, "/xdp/a");
  EXPECT_EQ(result->kvs[0].value, "1");
  EXPECT_EQ(result->kvs[0].create_revision, 2);
  EXPECT_EQ(result->kvs[0].mod_revision, 9);
  EXPECT_EQ(result->kvs[0].version, 3);
  EXPECT_TRUE(result->more);
  EXPECT_EQ(result->count, 4);
}

TEST(EtcdJson, AnEmptyRangeLeavesEverythingOut) {
  Result<RangeResult> result =
      parse_range(200, R"({"header":{"revision":"2"}})");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->kvs.empty());
  EXPECT_FALSE(result->more);
  EXPECT_EQ(result->count, 0);
}

TEST(EtcdJson, AFailedTxnSaysSoAndGivesItsRanges) {
  const char *body =
      R"({"header":{"revision":"2"},"responses":[{"response_range":)"
      R"({"header":{"revision":"2"},"kvs":[{"key":"L2g=","mod_revision":"2",)"
      R"("value":"eA=="}],"count":"1"}}]})";
  Result<TxnResult> result = parse_txn(200, body);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->succeeded);
  ASSERT_EQ(result->ranges.size(), 1u);
  EXPECT_EQ(result->ranges[0].kvs.at(0).value, "x");
}

TEST(EtcdJson, ACompactedRevisionIsItsOwnError) {
  Result<RangeResult> result = parse_range(
      400, R"({"error":"etcdserver: mvcc: required revision has been )"
           R"(compacted","message":"etcdserver: mvcc: required revision has )"
           R"(been compacted","code":11})");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::StoreCompacted);
}

TEST(EtcdJson, OtherGatewayErrorsKeepEtcdsMessage) {
  Result<RangeResult> result = parse_range(
      400, R"({"error":"illegal base64 data at input byte 0","code":3})");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::StoreFailed);
  EXPECT_NE(result.error().message.find("illegal base64"), std::string::npos);
  Result<RangeResult> text = parse_range(404, "Not Found\n");
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message.find("404"), std::string::npos);
}

TEST(EtcdJson, AnswersThatAreNotEtcdsAreErrorsNotCrashes) {
  for (const char *body :
       {"", "[]", "{\"kvs\":[{\"key\":\"!!\"}]}", "{\"kvs\":7}",
        "{\"header\":{\"revision\":\"x\"}}", "{\"kvs\":[{\"key\":3}]}"})
    EXPECT_FALSE(parse_range(200, body)) << body;
}

TEST(EtcdJson, WatchLinesGiveEventsInOrderAndDeletesByType) {
  Result<WatchMessage> created = parse_watch_line(
      R"({"result":{"header":{"revision":"2"},"created":true}})");
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->created);
  Result<WatchMessage> events = parse_watch_line(
      R"({"result":{"header":{"revision":"4"},"events":[{"kv":{"key":"L2M=",)"
      R"("create_revision":"3","mod_revision":"3","version":"1","value":"Mw=="}},)"
      R"({"type":"DELETE","kv":{"key":"L2E=","mod_revision":"4"}}]}})");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, Event::Type::Put);
  EXPECT_EQ(events->events[0].kv.value, "3");
  EXPECT_EQ(events->events[1].type, Event::Type::Delete);
  EXPECT_EQ(events->events[1].kv.key, "/a");
  EXPECT_EQ(events->events[1].kv.mod_revision, 4);
}

TEST(EtcdJson, AWatchBehindACompactionIsCanceledWithItsRevision) {
  Result<WatchMessage> canceled = parse_watch_line(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,)"
      R"("compact_revision":"4"}})");
  ASSERT_TRUE(canceled);
  EXPECT_TRUE(canceled->canceled);
  EXPECT_EQ(canceled->compact_revision, 4);
}

TEST(EtcdJson, FramingHandsOutWholeLinesHoweverTheBytesAreCut) {
  const std::string stream = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n{\"d\"";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    LineFraming framing;
    std::vector<std::string> lines;
    auto collect = [&](std::string_view line) { lines.emplace_back(line); };
    framing.feed(std::string_view(stream).substr(0, cut), collect);
    framing.feed(std::string_view(stream).substr(cut), collect);
    EXPECT_EQ(lines,
              (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}))
        << cut;
    EXPECT_EQ(framing.pending(), 4u) << cut;
  }
}

} // namespace
} // namespace xdpgate::etcd
