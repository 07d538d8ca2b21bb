// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The etcd client against a real etcd. These tests need one: they skip
// unless XDPGATE_TEST_ETCD names its endpoint, which
// tests/integration/etcd_client_test.sh does after it starts etcd in a
// network namespace of its own (and XDPGATE_TEST_ETCD_TLS and the
// certificates' paths, for the TLS tests, once etcd serves HTTPS).
#include "etcd/etcd_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

namespace xdpgate::etcd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string environment(const char *name) {
  const char *value = std::getenv(name);
  return value ? value : "";
}

// Each test's keys live under a prefix of its own, made unique per run.
std::string test_prefix() {
  const auto *test = testing::UnitTest::GetInstance()->current_test_info();
  return "/xdpgate-test/" + std::to_string(::getpid()) + "/" + test->name() +
         "/";
}

class EtcdClient : public testing::Test {
protected:
  void SetUp() override {
    endpoint = environment("XDPGATE_TEST_ETCD");
    if (endpoint.empty())
      GTEST_SKIP()
          << "needs etcd: run by tests/integration/etcd_client_test.sh";
    Result<std::unique_ptr<Client>> opened = Client::open({{endpoint}});
    ASSERT_TRUE(opened) << opened.error().message;
    client = std::move(*opened);
    prefix = test_prefix();
  }

  void put(const std::string &key, const std::string &value) {
    Result<TxnResult> done = client->txn({{}, {Put{key, value}}});
    ASSERT_TRUE(done) << done.error().message;
    ASSERT_TRUE(done->succeeded);
  }

  std::string endpoint;
  std::unique_ptr<Client> client;
  std::string prefix;
};

TEST_F(EtcdClient, KeysAndValuesComeBackByteForByte) {
  const std::string key = prefix + std::string("k\0\xff\n", 4);
  const std::string value = std::string("v\0\x80\"{}", 6);
  put(key, value);
  Result<RangeResult> got = client->range({key});
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].key, key);
  EXPECT_EQ(got->kvs[0].value, value);
  EXPECT_GT(got->kvs[0].mod_revision, 0);
  EXPECT_GE(got->revision, got->kvs[0].mod_revision);
}

TEST_F(EtcdClient, ATxnRunsTheBranchItsCompareChooses) {
  put(prefix + "head", "1");
  Result<RangeResult> head = client->range({prefix + "head"});
  ASSERT_TRUE(head);
  const std::int64_t seen = head->kvs.at(0).mod_revision;
  const auto write_if_unchanged = [&](const std::string &value) {
    return client->txn({{Compare{prefix + "head", Compare::Target::Mod,
                                 Compare::Result::Equal, seen}},
                        {Put{prefix + "head", value}},
                        {Range{prefix + "head"}}});
  };
  Result<TxnResult> first = write_if_unchanged("2");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->succeeded);
  // The second writer saw the same revision, and loses: it is told what
  // the key holds now.
  Result<TxnResult> second = write_if_unchanged("3");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(second->succeeded);
  ASSERT_EQ(second->ranges.size(), 1u);
  EXPECT_EQ(second->ranges[0].kvs.at(0).value, "2");
  EXPECT_EQ(second->ranges[0].kvs.at(0).mod_revision, first->revision);
}

TEST_F(EtcdClient, ALimitedRangePagesThroughEveryKey) {
  Txn many;
  for (int i = 0; i < 25; ++i)
    many.success.push_back(Put{prefix + "e/" + std::to_string(100 + i), "x"});
  Result<TxnResult> written = client->txn(many);
  ASSERT_TRUE(written) << written.error().message;
  std::vector<std::string> keys;
  std::string from = prefix + "e/";
  const std::string end = prefix_end(prefix + "e/");
  for (int pages = 0; pages < 10; ++pages) {
    Result<RangeResult> page =
        client->range({from, end, written->revision, 10});
    ASSERT_TRUE(page) << page.error().message;
    for (const KeyValue &kv : page->kvs)
      keys.push_back(kv.key);
    if (!page->more)
      break;
    from = page->kvs.back().key + '\0';
  }
  ASSERT_EQ(keys.size(), 25u);
  EXPECT_EQ(keys.front(), prefix + "e/100");
  EXPECT_EQ(keys.back(), prefix + "e/124");
}

TEST_F(EtcdClient, AWatchGivesEveryChangeInRevisionOrder) {
  put(prefix + "before", "0");
  Result<RangeResult> now = client->range({prefix + "before"});
  ASSERT_TRUE(now);
  Result<std::unique_ptr<Client::Watch>> watch =
      client->watch(prefix, prefix_end(prefix), now->revision + 1);
  ASSERT_TRUE(watch) << watch.error().message;
  put(prefix + "a", "1");
  put(prefix + "b", "2");
  Result<TxnResult> deleted = client->txn({{}, {DeleteRange{prefix + "a"}}});
  ASSERT_TRUE(deleted);
  std::vector<Event> events;
  while (events.size() < 3) {
    Result<std::optional<WatchMessage>> message =
        (*watch)->next(milliseconds(10000));
    ASSERT_TRUE(message) << message.error().message;
    ASSERT_TRUE(*message) << "no event within 10 s; got " << events.size();
    for (Event &event : (*message)->events)
      events.push_back(std::move(event));
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.key, prefix + "a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[1].kv.key, prefix + "b");
  EXPECT_EQ(events[2].type, Event::Type::Delete);
  EXPECT_EQ(events[2].kv.key, prefix + "a");
  EXPECT_EQ(events[2].kv.mod_revision, deleted->revision);
  EXPECT_LT(events[0].kv.mod_revision, events[1].kv.mod_revision);
}

TEST_F(EtcdClient, HistoryBeforeACompactionIsRefusedAsCompacted) {
  put(prefix + "a", "1");
  Result<RangeResult> old = client->range({prefix + "a"});
  ASSERT_TRUE(old);
  put(prefix + "a", "2");
  Result<RangeResult> now = client->range({prefix + "a"});
  ASSERT_TRUE(now);
  ASSERT_TRUE(client->compact(now->revision));
  Result<RangeResult> gone = client->range({prefix + "a", "", old->revision});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::StoreCompacted);
  // etcd puts the watch in place, then cancels it: its first message.
  auto watch = client->watch(prefix, prefix_end(prefix), old->revision);
  ASSERT_TRUE(watch) << watch.error().message;
  Result<std::optional<WatchMessage>> first = (*watch)->next(seconds(10));
  ASSERT_FALSE(first) << "the watch went on from a compacted revision";
  EXPECT_EQ(first.error().code, ErrorCode::StoreCompacted)
      << first.error().message;
}

TEST_F(EtcdClient, AKeyOnALeaseGoesWhenTheLeaseIsNotKeptAlive) {
  Result<std::int64_t> lease = client->lease_grant(seconds(2));
  ASSERT_TRUE(lease) << lease.error().message;
  ASSERT_NE(*lease, 0);
  Result<TxnResult> put_on_lease =
      client->txn({{}, {Put{prefix + "host", "up", *lease}}});
  ASSERT_TRUE(put_on_lease);
  Result<std::int64_t> ttl = client->lease_keep_alive(*lease);
  ASSERT_TRUE(ttl) << ttl.error().message;
  EXPECT_GT(*ttl, 0);
  auto watch =
      client->watch(prefix, prefix_end(prefix), put_on_lease->revision + 1);
  ASSERT_TRUE(watch) << watch.error().message;
  // No more keep-alives: etcd deletes the key (within a few seconds).
  Result<std::optional<WatchMessage>> expired =
      (*watch)->next(milliseconds(15000));
  ASSERT_TRUE(expired) << expired.error().message;
  ASSERT_TRUE(*expired) << "the key outlived its lease by 15 s";
  ASSERT_EQ((*expired)->events.size(), 1u);
  EXPECT_EQ((*expired)->events[0].type, Event::Type::Delete);
  Result<std::int64_t> after = client->lease_keep_alive(*lease);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(*after, 0);
}

TEST_F(EtcdClient, ARevokedLeaseTakesItsKeysAtOnce) {
  Result<std::int64_t> lease = client->lease_grant(seconds(60));
  ASSERT_TRUE(lease);
  ASSERT_TRUE(client->txn({{}, {Put{prefix + "confirm", "1", *lease}}}));
  ASSERT_TRUE(client->lease_revoke(*lease));
  Result<RangeResult> left = client->range({prefix + "confirm"});
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->kvs.empty());
}

TEST_F(EtcdClient, StopEndsAWatchsWaitFromAnotherThread) {
  auto watch = client->watch(prefix, prefix_end(prefix), 0);
  ASSERT_TRUE(watch) << watch.error().message;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (*watch)->stop();
  });
  // Nothing changes under the prefix: only stop() ends this wait early.
  Result<std::optional<WatchMessage>> ended =
      (*watch)->next(milliseconds(60000));
  stopper.join();
  ASSERT_FALSE(ended) << "the wait ran its whole 60 s";
  EXPECT_EQ(ended.error().code, ErrorCode::StoreUnavailable);
}

// An endpoint where nothing listens (etcd's address, another port).
std::string dead_endpoint(const std::string &live) {
  return live.substr(0, live.rfind(':')) + ":9";
}

TEST_F(EtcdClient, AnUnreachableEndpointFailsOverToTheNext) {
  auto opened = Client::open({{dead_endpoint(endpoint), endpoint}});
  ASSERT_TRUE(opened);
  Result<RangeResult> got = (*opened)->range({prefix + "none"});
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ((*opened)->endpoint(), endpoint);
  auto watch = (*opened)->watch(prefix, prefix_end(prefix), 0);
  ASSERT_TRUE(watch) << watch.error().message;
}

TEST_F(EtcdClient, NoReachableEndpointIsUnavailableAndNamesEach) {
  const std::string dead = dead_endpoint(endpoint);
  auto opened = Client::open({{dead, "http://198.19.0.250:2379"},
                              "",
                              "",
                              "",
                              milliseconds(300),
                              milliseconds(1000)});
  ASSERT_TRUE(opened);
  Result<RangeResult> got = (*opened)->range({prefix + "none"});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::StoreUnavailable);
  EXPECT_NE(got.error().message.find(dead), std::string::npos)
      << got.error().message;
  EXPECT_NE(got.error().message.find("198.19.0.250"), std::string::npos)
      << got.error().message;
}

TEST(EtcdClientOptions, WhatCannotWorkIsRefusedBeforeAnyRequest) {
  EXPECT_EQ(Client::open({}).error().code, ErrorCode::InvalidConfig);
  EXPECT_EQ(Client::open({{"198.18.0.1:2379"}}).error().field,
            "etcd.endpoints");
  EXPECT_EQ(Client::open({{"https://198.18.0.1:2379"}, "/nonexistent/ca.pem"})
                .error()
                .code,
            ErrorCode::InvalidConfig);
  Options cert_without_key{{"https://198.18.0.1:2379"}};
  cert_without_key.cert = "/proc/self/status"; // readable
  EXPECT_EQ(Client::open(cert_without_key).error().field, "etcd.key");
}

// etcd serving HTTPS and asking for a client certificate.
class EtcdTls : public testing::Test {
protected:
  void SetUp() override {
    options.endpoints = {environment("XDPGATE_TEST_ETCD_TLS")};
    if (options.endpoints[0].empty())
      GTEST_SKIP() << "needs etcd with TLS: run by "
                      "tests/integration/etcd_client_test.sh";
    options.cacert = environment("XDPGATE_TEST_ETCD_CACERT");
    options.cert = environment("XDPGATE_TEST_ETCD_CERT");
    options.key = environment("XDPGATE_TEST_ETCD_KEY");
  }
  Options options;
};

TEST_F(EtcdTls, WithTheClientCertificateEtcdAnswers) {
  auto client = Client::open(options);
  ASSERT_TRUE(client) << client.error().message;
  Result<RangeResult> got = (*client)->range({test_prefix()});
  ASSERT_TRUE(got) << got.error().message;
  auto watch = (*client)->watch(test_prefix(), prefix_end(test_prefix()), 0);
  EXPECT_TRUE(watch) << watch.error().message;
}

TEST_F(EtcdTls, WithoutOneEtcdRefusesAndTheErrorSaysWhatToSet) {
  options.cert.clear();
  options.key.clear();
  auto client = Client::open(options);
  ASSERT_TRUE(client);
  Result<RangeResult> got = (*client)->range({test_prefix()});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::StoreUnavailable);
  EXPECT_NE(got.error().message.find("[etcd] cert and key"), std::string::npos)
      << got.error().message;
}

TEST_F(EtcdTls, AnotherCaIsRefusedAndTheErrorNamesCacert) {
  options.cacert = "/etc/ssl/certs/ca-certificates.crt";
  auto client = Client::open(options);
  ASSERT_TRUE(client) << client.error().message;
  Result<RangeResult> got = (*client)->range({test_prefix()});
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("[etcd] cacert"), std::string::npos)
      << got.error().message;
}

} // namespace
} // namespace xdpgate::etcd
