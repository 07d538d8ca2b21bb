// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The answers that carry a whole list (GET of the list, the export, a
// replace's answer): up to 1,000 entries sent whole with their length, more
// streamed as they are made, to the same text; a snapshot of one moment, so
// that a write made while a slow client reads is neither held up nor half
// shown; an HTTP/1.0 client reads a streamed answer to the connection's
// close.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/responses.hpp"
#include "support/api_fixture.hpp"
#include "support/http_wire.hpp"

namespace xdpgate::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::string kList = "/api/admin/ip-allowlist";

// The body of a chunked answer, framing removed; nullopt when the framing is
// broken or the last chunk is missing.
std::optional<std::string> dechunked(std::string_view wire) {
  std::size_t at = wire.find("\r\n\r\n");
  if (at == std::string_view::npos)
    return std::nullopt;
  at += 4;
  std::string body;
  for (;;) {
    const std::size_t eol = wire.find("\r\n", at);
    if (eol == std::string_view::npos)
      return std::nullopt;
    const std::size_t size =
        std::stoul(std::string(wire.substr(at, eol - at)), nullptr, 16);
    if (size == 0)
      return body;
    if (eol + 2 + size + 2 > wire.size())
      return std::nullopt;
    body += wire.substr(eol + 2, size);
    at = eol + 2 + size + 2;
  }
}

class ListAnswersTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(api_.start().ok()); }

  // `count` entries 10.x.y.z/32, every third disabled, in this order.
  void list(std::size_t count) {
    std::string csv = "ip_address,description,enabled,expires_at\n";
    for (std::size_t i = 0; i < count; ++i)
      csv += "10." + std::to_string(i >> 16 & 255) + "." +
             std::to_string(i >> 8 & 255) + "." + std::to_string(i & 255) +
             ",entry " + std::to_string(i) + (i % 3 == 0 ? ",false," : ",,") +
             "\n";
    auto imported = api_.service().import_csv(csv, false, "alice", true);
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    ASSERT_TRUE(imported->errors.empty()) << imported->errors[0].message;
    ASSERT_EQ(imported->summary.added.count, count);
  }

  httplib::Result get(const std::string &target) const {
    httplib::Client c(api_.socket_path().string());
    c.set_address_family(AF_UNIX);
    c.set_read_timeout(10, 0);
    return c.Get(target);
  }

  TempDir dir_{"xdpgate-list-answers-test"};
  InProcessApi api_{dir_.path()};
};

TEST_F(ListAnswersTest, UpToAThousandEntriesAreSentWholeWithTheirLength) {
  list(1000);
  auto r = get(kList + "?include_disabled=true");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Length"),
            std::to_string(r->body.size()));
  EXPECT_FALSE(r->has_header("Transfer-Encoding"));
  const json body = json::parse(r->body);
  EXPECT_EQ(body["items"].size(), 1000u);
  EXPECT_EQ(r->body, api::json_text(body)) << "the daemon's one JSON form";
}

TEST_F(ListAnswersTest, ALargerListIsStreamedAsTheSameTextItsPagesMake) {
  list(2500);
  auto whole = get(kList + "?include_disabled=true");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(whole->has_header("Content-Length"));
  const json body = json::parse(whole->body);
  EXPECT_EQ(whole->body, api::json_text(body)) << "the daemon's one JSON form";
  EXPECT_EQ(body["total"], 2500);
  EXPECT_EQ(body["offset"], 0);
  EXPECT_EQ(body["mode"], "off");
  json paged = json::array();
  for (int offset = 0; offset < 2500; offset += 1000) {
    auto page = get(kList + "?include_disabled=true&limit=1000&offset=" +
                    std::to_string(offset));
    ASSERT_TRUE(page);
    ASSERT_TRUE(page->has_header("Content-Length"));
    const json items = json::parse(page->body)["items"];
    paged.insert(paged.end(), items.begin(), items.end());
  }
  EXPECT_EQ(paged.size(), 2500u);
  EXPECT_TRUE(body["items"] == paged) << "the stream and the pages differ";

  auto enabled = get(kList);
  ASSERT_TRUE(enabled);
  EXPECT_EQ(json::parse(enabled->body)["total"], 1666) << "every third is off";
}

TEST_F(ListAnswersTest, ALargeExportIsStreamedInListingOrder) {
  list(2500);
  auto csv = get(kList + "/export");
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  std::vector<std::string> lines;
  for (std::size_t start = 0, end;
       (end = csv->body.find('\n', start)) != std::string::npos;
       start = end + 1)
    lines.push_back(csv->body.substr(start, end - start));
  ASSERT_EQ(lines.size(), 2501u);
  EXPECT_EQ(lines[0], "ip_address,description,enabled,expires_at");
  EXPECT_EQ(lines[1], "10.0.0.0,entry 0,false,");
  EXPECT_EQ(lines[2500], "10.0.9.195,entry 2499,false,");
}

TEST_F(ListAnswersTest, AReplaceOfManyIsAnsweredStreamedAndItsPreviewWhole) {
  list(10);
  json body = json::array();
  for (int i = 0; i < 1500; ++i)
    body.push_back({{"ip_range", "192.0." + std::to_string(i >> 8) + "." +
                                     std::to_string(i & 255)}});
  httplib::Client c(api_.socket_path().string());
  c.set_address_family(AF_UNIX);
  c.set_read_timeout(10, 0);

  auto preview =
      c.Put(kList + "?dry_run=true", body.dump(), "application/json");
  ASSERT_TRUE(preview);
  ASSERT_EQ(preview->status, 200) << preview->body.substr(0, 300);
  EXPECT_TRUE(preview->has_header("Content-Length")) << "a preview is whole";
  const json previewed = json::parse(preview->body);
  EXPECT_EQ(previewed["dry_run"], true);
  EXPECT_EQ(previewed["result"]["total"], 1500);
  EXPECT_EQ(previewed["result"]["items"].size(), 1500u);
  EXPECT_EQ(api_.service().list(true).size(), 10u)
      << "a preview changes nothing";

  auto replaced = c.Put(kList, body.dump(), "application/json");
  ASSERT_TRUE(replaced);
  ASSERT_EQ(replaced->status, 200) << replaced->body.substr(0, 300);
  EXPECT_EQ(replaced->get_header_value("Transfer-Encoding"), "chunked");
  const json answer = json::parse(replaced->body);
  EXPECT_EQ(replaced->body, api::json_text(answer));
  EXPECT_EQ(answer["total"], 1500);
  ASSERT_EQ(answer["items"].size(), 1500u);
  EXPECT_EQ(answer["items"][1499]["ip_range"], "192.0.5.219");
  EXPECT_EQ(api_.service().list(true).size(), 1500u);
}

// The client reads the head, then nothing while the whole list is deleted
// through another connection: the delete is answered, and the rest of the
// answer still holds every entry as it was when it was asked for.
TEST_F(ListAnswersTest, AWriteWhileASlowClientReadsIsNeitherHeldUpNorShown) {
  list(20000); // ~4 MB of JSON: far more than the socket's buffers hold
  Fd slow = connect_unix(api_.socket_path());
  ASSERT_TRUE(slow.valid());
  const std::string request = "GET " + kList +
                              "?include_disabled=true HTTP/1.1\r\n"
                              "Host: x\r\n\r\n";
  ASSERT_EQ(::send(slow.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string wire;
  char buffer[4096];
  pollfd p{slow.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "no answer in 5 s";
  const ssize_t n = ::recv(slow.get(), buffer, sizeof buffer, 0);
  ASSERT_GT(n, 0);
  wire.append(buffer, static_cast<std::size_t>(n));

  httplib::Client writer(api_.socket_path().string());
  writer.set_address_family(AF_UNIX);
  writer.set_read_timeout(10, 0);
  auto deleted = writer.Delete(kList);
  ASSERT_TRUE(deleted) << "the delete got no answer in 10 s";
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  EXPECT_TRUE(api_.service().list(true).empty());

  const auto until = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < until) {
    if (::poll(&p, 1, 1000) != 1)
      continue;
    const ssize_t got = ::recv(slow.get(), buffer, sizeof buffer, 0);
    if (got <= 0)
      break;
    wire.append(buffer, static_cast<std::size_t>(got));
  }
  auto body = dechunked(wire);
  ASSERT_TRUE(body) << "the answer did not end within 20 s (" << wire.size()
                    << " bytes read)";
  const json list = json::parse(*body);
  EXPECT_EQ(list["total"], 20000);
  EXPECT_EQ(list["items"].size(), 20000u);
}

TEST_F(ListAnswersTest, AnHttp10ClientReadsAStreamedAnswerToTheClose) {
  list(1500);
  RawAnswer answer = raw_exchange(api_.socket_path(),
                                  "GET " + kList + "/export HTTP/1.0\r\n\r\n",
                                  milliseconds(10000));
  ASSERT_TRUE(answer.closed) << "no close within 10 s";
  const std::size_t head_end = answer.bytes.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = answer.bytes.substr(0, head_end);
  EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
  const std::string body = answer.bytes.substr(head_end + 4);
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1501);
  EXPECT_EQ(body.substr(body.size() - 28), "10.0.5.219,entry 1499,true,\n");
}

} // namespace
} // namespace xdpgate::test
