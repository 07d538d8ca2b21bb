// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The control API of docs/API.md, end to end in one process: a real store in
// a temporary directory, a ListService over a fake kernel, a real ApiServer
// on a temporary Unix socket (tests/support/api_fixture.hpp) and httplib's
// client (or raw bytes, where the test is about the wire). Permission tests
// make their requests from a thread that took an unprivileged uid with chosen
// groups.
#include "api/api_server.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.hpp"
#include "list/list_service.hpp"
#include "support/api_fixture.hpp"
#include "support/http_wire.hpp"
#include "support/new_ids.hpp"

namespace xdpgate::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test::InProcessApi;
using test::raw_exchange;
using test::status_of_raw;
using test::TempDir;
using test::without_new_ids;

constexpr EpochMs kStart = test::kApiStart;
constexpr gid_t kWriteGid = 4242;
constexpr gid_t kReadGid = 4343;
// The groups' names as configured; no such groups need exist.
const std::string kWriteGroup = "xg-api-writers";
const std::string kReadGroup = "xg-api-readers";
constexpr uid_t kNobody = 65534;
const std::string kList = "/api/admin/ip-allowlist";

struct Reply {
  int status = 0; // 0: no HTTP answer at all
  json body;      // parsed when the answer is JSON
  std::string text;
  std::string content_type;
  httplib::Headers headers;
};

Reply reply_of(const httplib::Result &result) {
  Reply r;
  if (!result)
    return r;
  r.status = result->status;
  r.text = result->body;
  r.content_type = result->get_header_value("Content-Type");
  r.headers = result->headers;
  if (r.content_type.rfind("application/json", 0) == 0)
    r.body = json::parse(r.text, nullptr, false);
  return r;
}

std::string error_code(const Reply &r) {
  return r.body.is_object() && r.body.contains("error")
             ? r.body["error"].value("code", "")
             : "";
}

bool has(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

class ApiTest : public ::testing::Test {
protected:
  void SetUp() override { start_server({}); }

  void start_server(StreamLimits limits) {
    ApiServerOptions options;
    options.access = {kWriteGid, kReadGid, kWriteGroup, kReadGroup};
    options.limits = limits;
    Status started = api_.start(options);
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  const std::filesystem::path &socket_path() const {
    return api_.socket_path();
  }

  // Sends `bytes` on a fresh connection, then reads until the server closes
  // or `wait` passes.
  std::string raw(const std::string &bytes,
                  std::chrono::milliseconds wait = 3000ms) const {
    return raw_exchange(socket_path(), bytes, wait).bytes;
  }

  // The answer to one request of exactly these headers (httplib's client
  // would add Content-Type: text/plain to a body sent without one). The
  // writing side is then closed, so the server answers and closes at once.
  std::string sent_as(const std::string &method, const std::string &path,
                      const std::string &body, const std::string &type) const {
    std::string wire = method + " " + path + " HTTP/1.1\r\nHost: x\r\n";
    if (!type.empty())
      wire += "Content-Type: " + type + "\r\n";
    wire += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    return raw_exchange(socket_path(), wire + body, 3000ms, true).bytes;
  }

  httplib::Client client() const {
    httplib::Client c(socket_path().string());
    c.set_address_family(AF_UNIX);
    c.set_read_timeout(10, 0);
    c.set_write_timeout(10, 0);
    return c;
  }

  Reply call(const std::string &method, const std::string &path,
             const std::string &body = "",
             const std::string &content_type = "application/json") const {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!body.empty() && !content_type.empty())
      req.set_header("Content-Type", content_type);
    return reply_of(client().send(req));
  }
  Reply get(const std::string &path) const { return call("GET", path); }
  Reply post(const std::string &path, const json &body) const {
    return call("POST", path, body.dump());
  }
  Reply post(const std::string &path) const { return call("POST", path); }
  Reply put(const std::string &path, const json &body) const {
    return call("PUT", path, body.dump());
  }
  Reply patch(const std::string &path, const json &body) const {
    return call("PATCH", path, body.dump());
  }
  Reply del(const std::string &path) const { return call("DELETE", path); }

  // Adds an entry and returns its id.
  std::string add(const std::string &range,
                  const std::string &description = "") {
    json body = {{"ip_range", range}};
    if (!description.empty())
      body["description"] = description;
    Reply r = post(kList, body);
    EXPECT_EQ(r.status, 201) << r.text;
    return r.body.value("id", "");
  }

  TempDir dir_{"xdpgate-api-test"};
  InProcessApi api_{dir_.path()};
  ModelKernel &kernel_ = api_.kernel();
  std::atomic<EpochMs> &now_ = api_.now;
  std::atomic<std::size_t> &denied_top_ = api_.denied_top;
};

// ---------------------------------------------------------------- entries

TEST_F(ApiTest, AnEmptyListAnswersNoItemsAndRestrictionOff) {
  Reply r = get(kList);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, (json{{"items", json::array()},
                          {"total", 0},
                          {"offset", 0},
                          {"restriction_active", false},
                          {"mode", "off"}}));
}

TEST_F(ApiTest, TheListIsReadInPagesWithTheWholeListsTotal) {
  add("203.0.113.0/24");
  add("198.51.100.0/24");
  add("192.0.2.0/24");
  Reply page = get(kList + "?offset=1&limit=1");
  ASSERT_EQ(page.status, 200) << page.text;
  EXPECT_EQ(page.body["total"], 3);
  EXPECT_EQ(page.body["offset"], 1);
  ASSERT_EQ(page.body["items"].size(), 1u);
  EXPECT_EQ(page.body["items"][0]["ip_range"], "198.51.100.0/24");
  EXPECT_EQ(get(kList + "?offset=3").body["items"], json::array());
  EXPECT_EQ(get(kList).body["items"].size(), 3u) << "no limit: everything";
  EXPECT_EQ(error_code(get(kList + "?limit=0")), "invalid_parameter");
  EXPECT_EQ(error_code(get(kList + "?offset=-1")), "invalid_parameter");
}

TEST_F(ApiTest, AddingAnEntryAnswers201WithTheEntryCreatedByTheCaller) {
  Reply r = post(kList, {{"ip_range", "203.0.113.0/24"},
                         {"description", "office"},
                         {"expires_at", kStart + 1000}});
  ASSERT_EQ(r.status, 201) << r.text;
  EXPECT_EQ(r.body["ip_range"], "203.0.113.0/24");
  EXPECT_EQ(r.body["description"], "office");
  EXPECT_EQ(r.body["enabled"], true);
  EXPECT_EQ(r.body["created_by"], user_name(::getuid()));
  EXPECT_EQ(r.body["created_at"], kStart);
  EXPECT_EQ(r.body["updated_at"], nullptr);
  EXPECT_EQ(r.body["expires_at"], kStart + 1000);
  EXPECT_EQ(r.body["hits"], 0);
  EXPECT_EQ(r.body["last_hit_at"], nullptr);
  EXPECT_EQ(r.body["id"].get<std::string>().rfind("ip_", 0), 0u);
}

TEST_F(ApiTest, AddingAListedRangeAnswers200WithItsDescriptionReplaced) {
  std::string id = add("203.0.113.0/24", "office");
  Reply r =
      post(kList, {{"ip_range", "203.0.113.0/24"}, {"description", "hq"}});
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["id"], id);
  EXPECT_EQ(r.body["description"], "hq");
  EXPECT_EQ(get(kList).body["total"], 1);
}

// An upsert sets what it is sent, and the answer shows the entry as it now
// is; disabling the last enabled entry that way needs force, as a disable
// does.
TEST_F(ApiTest, AddingAListedRangeSetsEnabledAndExpiryWhenSent) {
  std::string id = add("203.0.113.0/24", "office");
  ASSERT_EQ(post(kList + "/activate").status, 200);
  const json off = {{"ip_range", "203.0.113.0/24"},
                    {"description", "office"},
                    {"enabled", false},
                    {"expires_at", kStart + 1000}};
  Reply refused = post(kList, off);
  EXPECT_EQ(refused.status, 409) << refused.text;
  EXPECT_EQ(refused.body["error"]["code"], "last_enabled_entry");
  EXPECT_EQ(get(kList + "/" + id).body["enabled"], true);
  Reply r = post(kList + "?force=true", off);
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["id"], id);
  EXPECT_EQ(r.body["enabled"], false);
  EXPECT_EQ(r.body["expires_at"], kStart + 1000);
}

TEST_F(ApiTest, AddingAnArrayWithARangeTwiceIsRefused) {
  Reply r = post(kList, json::array({{{"ip_range", "203.0.113.0/24"}},
                                     {{"ip_range", "198.51.100.0/24"}},
                                     {{"ip_range", "203.0.113.0/24"}}}));
  EXPECT_EQ(r.status, 422) << r.text;
  EXPECT_EQ(r.body["error"]["code"], "invalid_ip_range");
  EXPECT_EQ(r.body["error"]["field"], "[2].ip_range");
  EXPECT_EQ(get(kList).body["total"], 0);
}

TEST_F(ApiTest, AddingAnArrayAnswersItemsInOrder) {
  Reply r =
      post(kList,
           json::array({{{"ip_range", "203.0.113.0/24"}},
                        {{"ip_range", "2001:db8::/32"}, {"enabled", false}}}));
  ASSERT_EQ(r.status, 201) << r.text;
  ASSERT_EQ(r.body["items"].size(), 2u);
  EXPECT_EQ(r.body["items"][0]["ip_range"], "203.0.113.0/24");
  EXPECT_EQ(r.body["items"][1]["enabled"], false);
  EXPECT_EQ(get(kList).body["total"], 1);
  EXPECT_EQ(get(kList + "?include_disabled=true").body["total"], 2);
}

TEST_F(ApiTest, GettingAnEntryShowsItsKernelStatistics) {
  std::string id = add("203.0.113.0/24");
  kernel_.count(*IpPrefix::parse("203.0.113.0/24"), 7, kStart + 5);
  Reply r = get(kList + "/" + id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["hits"], 7);
  EXPECT_EQ(r.body["last_hit_at"], kStart + 5);
}

TEST_F(ApiTest, AnUnknownIdIs404NotFound) {
  Reply r = get(kList + "/ip_0000000000");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "not_found");
}

TEST_F(ApiTest, ReplacingTheListAnswersTheNewListAndKeepsListedIds) {
  std::string kept = add("203.0.113.0/24");
  add("198.51.100.0/24");
  Reply r = put(kList, json::array({{{"ip_range", "203.0.113.0/24"}},
                                    {{"ip_range", "192.0.2.1"}}}));
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["total"], 2);
  EXPECT_EQ(r.body["items"][0]["id"], kept);
  EXPECT_EQ(r.body["items"][1]["ip_range"], "192.0.2.1");
  EXPECT_EQ(get(kList).body["total"], 2);
}

TEST_F(ApiTest, AReplacementWithOneBadRangeChangesNothing) {
  add("203.0.113.0/24");
  Reply r = put(kList, json::array({{{"ip_range", "192.0.2.1"}},
                                    {{"ip_range", "10.0.0.1/8"}}}));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code(r), "invalid_ip_range");
  EXPECT_EQ(r.body["error"]["field"], "[1].ip_range");
  EXPECT_EQ(get(kList).body["items"][0]["ip_range"], "203.0.113.0/24");
}

TEST_F(ApiTest, PatchingChangesOnlyTheGivenFieldsAndNullRemovesADescription) {
  std::string id = add("203.0.113.0/24", "office");
  now_ += 1000;
  Reply r = patch(kList + "/" + id, {{"ip_range", "203.0.113.128/25"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["ip_range"], "203.0.113.128/25");
  EXPECT_EQ(r.body["description"], "office");
  EXPECT_EQ(r.body["updated_at"], kStart + 1000);
  r = patch(kList + "/" + id, {{"description", nullptr}});
  EXPECT_EQ(r.body["description"], nullptr);
}

TEST_F(ApiTest, PatchingToARangeListedElsewhereIs409RangeExists) {
  std::string id = add("203.0.113.0/24");
  add("198.51.100.0/24");
  Reply r = patch(kList + "/" + id, {{"ip_range", "198.51.100.0/24"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "range_exists");
}

TEST_F(ApiTest, DeletingAnEntryAnswersDeletedAndItsId) {
  std::string id = add("203.0.113.0/24");
  Reply r = del(kList + "/" + id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, (json{{"deleted", true}, {"id", id}}));
  EXPECT_EQ(get(kList + "/" + id).status, 404);
}

TEST_F(ApiTest, DeletingTheCollectionDeletesEverythingAndDeactivates) {
  add("203.0.113.0/24");
  add("198.51.100.0/24");
  ASSERT_EQ(post(kList + "/activate").status, 200);
  Reply r = del(kList);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, (json{{"deleted", 2}, {"restriction_active", false}}));
  EXPECT_EQ(kernel_.state().mode, Mode::Off);
  EXPECT_EQ(get(kList + "?include_disabled=1").body["total"], 0);
}

TEST_F(ApiTest, EnablingAndDisablingAnswerWhenTheyHappened) {
  std::string id = add("203.0.113.0/24");
  now_ += 5;
  Reply r = post(kList + "/" + id + "/disable");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      (json{{"id", id}, {"enabled", false}, {"disabled_at", kStart + 5}}));
  EXPECT_TRUE(kernel_.state().allow.empty());
  now_ += 5;
  r = post(kList + "/" + id + "/enable");
  EXPECT_EQ(r.body,
            (json{{"id", id}, {"enabled", true}, {"enabled_at", kStart + 10}}));
  EXPECT_EQ(kernel_.state().allow.size(), 1u);
}

TEST_F(ApiTest, DisablingOrDeletingTheLastEnabledEntryWhileActiveIs409) {
  std::string id = add("203.0.113.0/24");
  ASSERT_EQ(post(kList + "/activate").status, 200);
  Reply r = post(kList + "/" + id + "/disable");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "last_enabled_entry");
  EXPECT_EQ(del(kList + "/" + id).status, 409);
  EXPECT_EQ(patch(kList + "/" + id, {{"enabled", false}}).status, 409);
  EXPECT_EQ(put(kList, json::array()).status, 409);
  EXPECT_EQ(post(kList + "/" + id + "/disable?force=true").status, 200);
  EXPECT_EQ(del(kList + "/" + id + "?force=true").status, 200);
}

TEST_F(ApiTest, CheckWithRestrictionInactiveAllowsEverything) {
  add("203.0.113.0/24");
  Reply r = post(kList + "/check", {{"ip_address", "198.51.100.1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, (json{{"ip_address", "198.51.100.1"},
                          {"mode", "off"},
                          {"verdict", "would_drop"},
                          {"allowed", true},
                          {"matched_entry", nullptr},
                          {"restriction_active", false},
                          {"total_entries", 1}}));
}

TEST_F(ApiTest, CheckMatchesTheLongestPrefixLikeTheKernel) {
  add("203.0.113.0/24", "wide");
  std::string narrow = add("203.0.113.0/28", "narrow");
  ASSERT_EQ(post(kList + "/activate").status, 200);
  Reply r = post(kList + "/check", {{"ip_address", "203.0.113.7"}});
  EXPECT_EQ(r.body["allowed"], true);
  EXPECT_EQ(r.body["matched_entry"]["id"], narrow);
  EXPECT_EQ(r.body["verdict"], "allowed");
  r = post(kList + "/check", {{"ip_address", "198.51.100.1"}});
  EXPECT_EQ(r.body["allowed"], false);
  EXPECT_EQ(r.body["verdict"], "dropped");
  EXPECT_EQ(r.body["mode"], "enforce");
  EXPECT_EQ(r.body["matched_entry"], nullptr);
  EXPECT_EQ(r.body["restriction_active"], true);
}

TEST_F(ApiTest, CheckRefusesARangeWith422InvalidIpAddress) {
  Reply r = post(kList + "/check", {{"ip_address", "203.0.113.0/24"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code(r), "invalid_ip_address");
  EXPECT_EQ(r.body["error"]["field"], "ip_address");
}

// ---------------------------------------------------------------- CSV

TEST_F(ApiTest, ADryRunImportReportsChangesAndChangesNothing) {
  add("203.0.113.0/24", "office");
  add("198.51.100.0/24", "lab");
  Reply r = call("POST", kList + "/import?dry_run=true&replace=true",
                 "ip_address,description\n"
                 "203.0.113.0/24,hq\n198.51.100.0/24,lab\n192.0.2.1,\n",
                 "text/csv");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["dry_run"], true);
  EXPECT_EQ(
      r.body["result"],
      (json{
          {"dry_run", true},
          {"replace", true},
          {"added", {"192.0.2.1"}},
          {"updated", {"203.0.113.0/24"}},
          {"removed", json::array()},
          {"unchanged", 1},
          {"counts",
           {{"added", 1}, {"updated", 1}, {"removed", 0}, {"unchanged", 1}}}}));
  EXPECT_EQ(get(kList).body["total"], 2);
}

TEST_F(ApiTest, AReplacingImportMakesTheFileTheWholeList) {
  add("203.0.113.0/24");
  Reply r = call("POST", kList + "/import?replace=1",
                 "ip_address,description\n192.0.2.1,vpn\n",
                 "text/csv; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["removed"], json({"203.0.113.0/24"}));
  Reply list = get(kList);
  ASSERT_EQ(list.body["total"], 1);
  EXPECT_EQ(list.body["items"][0]["description"], "vpn");
}

TEST_F(ApiTest, AnImportWithBadLinesIs422NamingEveryLineAndChangesNothing) {
  Reply r = call("POST", kList + "/import",
                 "ip_address,description\n192.0.2.1,ok\n10.0.0.1/8,x\n"
                 "1.2.3,y\n",
                 "text/csv");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code(r), "invalid_csv");
  ASSERT_EQ(r.body["error"]["lines"].size(), 2u);
  EXPECT_EQ(r.body["error"]["lines"][0]["line"], 3);
  EXPECT_EQ(r.body["error"]["lines"][1]["line"], 4);
  EXPECT_NE(r.body["error"]["lines"][0]["message"].get<std::string>().find(
                "10.0.0.0/8"),
            std::string::npos);
  EXPECT_EQ(get(kList).body["total"], 0);
}

TEST_F(ApiTest, ExportAnswersTheListAsCsv) {
  add("203.0.113.0/24", "office, 2nd floor");
  Reply r = get(kList + "/export");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/csv", 0), 0u);
  EXPECT_EQ(r.text, "ip_address,description,enabled,expires_at\n"
                    "203.0.113.0/24,\"office, 2nd floor\",true,\n");
}

// ---------------------------------------------------------------- state

TEST_F(ApiTest, StatusReportsModeEntriesInterfacesExemptionsAndWarnings) {
  add("10.0.0.0/8");
  add("10.1.0.0/16");
  Reply r = get(kList + "/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["mode"], "off");
  EXPECT_EQ(r.body["restriction_active"], false);
  EXPECT_EQ(r.body["confirm_deadline"], nullptr);
  EXPECT_EQ(r.body["entries"], (json{{"total", 2}, {"enabled", 2}}));
  EXPECT_EQ(r.body["interfaces"][0]["name"], "eth1");
  EXPECT_EQ(r.body["exemptions"]["tcp_ports"], json({10943}));
  EXPECT_EQ(r.body["scope"]["protected_tcp_ports"], json({22}));
  EXPECT_EQ(r.body["last_sync_at"], kStart);
  ASSERT_EQ(r.body["warnings"]["overlaps"].size(), 1u);
  EXPECT_EQ(r.body["warnings"]["stale"].size(), 0u);
}

TEST_F(ApiTest, ActivationOfAnEmptyListIs409UnlessAllowEmpty) {
  Reply r = post(kList + "/activate", {{"mode", "enforce"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "empty_list");
  r = post(kList + "/activate", {{"mode", "monitor"}, {"allow_empty", true}});
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["mode"], "monitor");
  EXPECT_EQ(r.body["restriction_active"], true);
  EXPECT_EQ(kernel_.state().mode, Mode::Monitor);
}

TEST_F(ApiTest, ActivationWithConfirmationNeedsConfirm) {
  add("203.0.113.0/24");
  Reply r = post(kList + "/confirm");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "not_pending");
  r = post(kList + "/activate", {{"confirm_within_s", 60}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["mode"], "enforce");
  EXPECT_EQ(r.body["confirm_deadline"], kStart + 60000);
  r = post(kList + "/confirm");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["confirm_deadline"], nullptr);
  r = post(kList + "/deactivate");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["restriction_active"], false);
}

TEST_F(ApiTest, ActivationValuesOutOfRangeAre422InvalidValue) {
  add("203.0.113.0/24");
  EXPECT_EQ(error_code(post(kList + "/activate", {{"mode", "off"}})),
            "invalid_value");
  Reply r = post(kList + "/activate", {{"confirm_within_s", 0}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["field"], "confirm_within_s");
}

TEST_F(ApiTest, TheAuditLogListsChangesNewestFirstWithJsonBeforeAndAfter) {
  std::string id = add("203.0.113.0/24", "office");
  patch(kList + "/" + id, {{"description", "hq"}});
  Reply r = get(kList + "/audit?limit=1");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["total"], 2);
  ASSERT_EQ(r.body["items"].size(), 1u);
  const json &last = r.body["items"][0];
  EXPECT_EQ(last["action"], "update");
  EXPECT_EQ(last["actor"], user_name(::getuid()));
  EXPECT_EQ(last["entry_id"], id);
  EXPECT_EQ(last["before"]["description"], "office");
  EXPECT_EQ(last["after"]["description"], "hq");
  r = get(kList + "/audit?offset=1&limit=5");
  EXPECT_EQ(r.body["items"][0]["action"], "add");
  EXPECT_EQ(r.body["items"][0]["before"], nullptr);
}

TEST_F(ApiTest, DeniedSourcesComeFromTheBackendWithTheAskedTop) {
  Reply r = get(kList + "/denied?top=3");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(denied_top_, 3u);
  EXPECT_EQ(r.body["interfaces"][0]["sources"][0]["address"], "198.51.100.9");
  EXPECT_EQ(get(kList + "/denied").status, 200);
  EXPECT_EQ(denied_top_, 10u);
}

TEST_F(ApiTest, MetricsArePrometheusTextWithEveryFamily) {
  add("203.0.113.0/24");
  Reply r = get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  for (const char *line :
       {"# TYPE xdpgate_packets_total counter",
        "xdpgate_packets_total{interface=\"eth1\",verdict=\"allowed\"} 10",
        "xdpgate_bytes_total{interface=\"eth1\",verdict=\"dropped\"} 180",
        "xdpgate_entries{state=\"enabled\"} 1",
        "xdpgate_entries{state=\"disabled\"} 0", "xdpgate_restriction_active 0",
        "xdpgate_mode{mode=\"off\"} 1", "xdpgate_mode{mode=\"enforce\"} 0",
        "xdpgate_last_sync_timestamp_seconds 1763880000.000",
        "xdpgate_interface_attached{interface=\"eth1\",attach_mode=\"native\"}"
        " 1",
        "xdpgate_interface_attached{interface=\"eth2\",attach_mode=\"\"} 0"})
    EXPECT_NE(r.text.find(std::string(line) + "\n"), std::string::npos) << line;
}

// ---------------------------------------------------------------- previews

TEST_F(ApiTest, EveryChangingRouteTakesADryRunThatAnswersAsTheRealCall) {
  struct Case {
    std::string method, path, body, type;
  };
  const std::string office = add("203.0.113.0/24", "office");
  const std::string lab = add("198.51.100.0/24", "lab");
  ASSERT_EQ(post(kList + "/activate", {{"mode", "enforce"}}).status, 200);
  const std::set<std::string> known = {office, lab};
  const std::string csv = "ip_address,description\n192.0.2.1,vpn\n";
  const Case cases[] = {
      {"POST", kList, R"({"ip_range":"192.0.2.0/24"})", "application/json"},
      {"POST", kList, R"([{"ip_range":"192.0.2.9"}])", "application/json"},
      {"PATCH", kList + "/" + lab, R"({"description":"lab 2"})",
       "application/json"},
      {"POST", kList + "/" + lab + "/disable", "", ""},
      {"POST", kList + "/" + lab + "/enable", "", ""},
      {"POST", kList + "/import", csv, "text/csv"},
      {"POST", kList + "/activate", R"({"mode":"monitor"})",
       "application/json"},
      {"POST", kList + "/deactivate", "", ""},
      {"DELETE", kList + "/" + lab, "", ""},
      {"PUT", kList, R"([{"ip_range":"203.0.113.0/24"}])", "application/json"},
      {"POST", kList + "/import?replace=true", csv, "text/csv"},
      {"DELETE", kList, "", ""},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    const std::string before = api_.snapshot();
    const std::string sep = c.path.find('?') == std::string::npos ? "?" : "&";
    Reply dry = call(c.method, c.path + sep + "dry_run=true", c.body, c.type);
    EXPECT_EQ(api_.snapshot(), before) << "the dry run changed something";
    Reply real = call(c.method, c.path, c.body, c.type);
    ASSERT_EQ(dry.status, real.status) << dry.text << "\n" << real.text;
    ASSERT_TRUE(dry.body.is_object()) << dry.text;
    EXPECT_EQ(dry.body["dry_run"], true);
    json result = dry.body["result"];
    if (c.path.find("/import") != std::string::npos)
      result["dry_run"] = false; // the import's answer says which it was
    EXPECT_EQ(without_new_ids(result, known),
              without_new_ids(real.body, known));
    EXPECT_TRUE(dry.body["impact"].contains("start_dropping")) << dry.text;
    EXPECT_EQ(api_.kernel_mismatch(), std::nullopt);
  }
}

TEST_F(ApiTest, ARefusedDryRunIsTheRealCallsRefusal) {
  const std::string office = add("203.0.113.0/24");
  ASSERT_EQ(post(kList + "/activate", {{"mode", "enforce"}}).status, 200);
  Reply dry = del(kList + "/" + office + "?dry_run=true");
  Reply real = del(kList + "/" + office);
  EXPECT_EQ(dry.status, 409);
  EXPECT_EQ(dry.body, real.body);
}

TEST_F(ApiTest, ADryRunSaysWhoWouldStartAndStopBeingDropped) {
  const std::string office = add("203.0.113.0/24");
  ASSERT_EQ(post(kList + "/activate", {{"mode", "enforce"}}).status, 200);
  // The fake sample holds 198.51.100.9; adding its range lets it through.
  Reply r = post(kList + "?dry_run=true", {{"ip_range", "198.51.100.0/24"}});
  ASSERT_EQ(r.status, 201) << r.text;
  EXPECT_EQ(r.body["impact"]["stop_dropping"],
            (json{{{"address", "198.51.100.9"},
                   {"packets", 5},
                   {"last_seen_at", kStart}}}));
  EXPECT_EQ(r.body["impact"]["start_dropping"], json::array());
  EXPECT_EQ(r.body["impact"]["caller_address"], nullptr);
  EXPECT_EQ(r.body["impact"]["caller_cut_off"], false);
}

TEST_F(ApiTest, ADryRunTellsWhetherTheCallerInXClientAddressIsCutOff) {
  const std::string office = add("203.0.113.0/24");
  add("198.51.100.0/24");
  ASSERT_EQ(post(kList + "/activate", {{"mode", "enforce"}}).status, 200);
  auto disable_as = [&](const std::string &caller) {
    httplib::Request req;
    req.method = "POST";
    req.path = kList + "/" + office + "/disable?dry_run=true";
    req.set_header("X-Client-Address", caller);
    return reply_of(client().send(req));
  };
  Reply inside = disable_as("203.0.113.7");
  ASSERT_EQ(inside.status, 200) << inside.text;
  EXPECT_EQ(inside.body["impact"]["caller_address"], "203.0.113.7");
  EXPECT_EQ(inside.body["impact"]["caller_cut_off"], true);
  Reply elsewhere = disable_as("198.51.100.7");
  EXPECT_EQ(elsewhere.body["impact"]["caller_cut_off"], false);
  Reply mapped = disable_as("::ffff:203.0.113.7");
  EXPECT_EQ(mapped.body["impact"]["caller_address"], "203.0.113.7")
      << "a v4-mapped caller is judged as the IPv4 address it sends from";
  EXPECT_EQ(mapped.body["impact"]["caller_cut_off"], true);
  Reply bad = disable_as("203.0.113.7:22");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(error_code(bad), "invalid_ip_address");
  EXPECT_EQ(bad.body["error"]["field"], "X-Client-Address");
}

TEST_F(ApiTest, RoutesThatChangeNothingRefuseADryRun) {
  for (const auto &[method, path] :
       std::vector<std::pair<std::string, std::string>>{
           {"GET", kList},
           {"GET", kList + "/status"},
           {"POST", kList + "/confirm"}}) {
    SCOPED_TRACE(method + " " + path);
    Reply r = call(method, path + "?dry_run=true");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(error_code(r), "invalid_parameter");
  }
}

// ---------------------------------------------------------------- errors

TEST_F(ApiTest, MalformedJsonIs400InvalidJsonWithTheBytePosition) {
  Reply r = call("POST", kList, "{\"ip_range\": }");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_json");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("at byte 14"),
            std::string::npos)
      << r.text;
}

TEST_F(ApiTest, AnEmptyBodyWhereJsonIsNeededIs400InvalidJson) {
  EXPECT_EQ(error_code(call("POST", kList)), "invalid_json");
}

TEST_F(ApiTest, DuplicateKeysAre400InvalidJson) {
  Reply r = call("POST", kList,
                 R"({"ip_range": "192.0.2.1", "ip_range": "192.0.2.2"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_json");
  EXPECT_EQ(get(kList).body["total"], 0);
}

TEST_F(ApiTest, DeepNestingIs400InvalidJson) {
  Reply r =
      call("POST", kList, std::string(10000, '[') + std::string(10000, ']'));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_json");
}

TEST_F(ApiTest, AnUnknownFieldIs400InvalidFieldNamingIt) {
  Reply r = post(kList, {{"ip_range", "192.0.2.1"}, {"comment", "x"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_field");
  EXPECT_EQ(r.body["error"]["field"], "comment");
  r = post(kList, json::array({{{"ip_range", "192.0.2.1"}},
                               {{"ip_range", "192.0.2.2"}, {"x", 1}}}));
  EXPECT_EQ(r.body["error"]["field"], "[1].x");
}

TEST_F(ApiTest, AWrongTypeIs400InvalidFieldNamingIt) {
  Reply r = post(kList, {{"ip_range", "192.0.2.1"}, {"enabled", "yes"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_field");
  EXPECT_EQ(r.body["error"]["field"], "enabled");
  EXPECT_EQ(post(kList, {{"ip_range", 3}}).body["error"]["field"], "ip_range");
  EXPECT_EQ(post(kList, {{"description", "x"}}).body["error"]["field"],
            "ip_range");
  EXPECT_EQ(error_code(post(kList, "192.0.2.1")), "invalid_field");
  EXPECT_EQ(error_code(put(kList, {{"ip_range", "192.0.2.1"}})),
            "invalid_field");
}

TEST_F(ApiTest, JsonRoutesRefuseOtherMediaTypesWith415) {
  Reply r = call("POST", kList, R"({"ip_range": "192.0.2.1"})", "text/plain");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(error_code(r), "unsupported_media_type");
  EXPECT_EQ(call("POST", kList, R"({"ip_range": "192.0.2.1"})",
                 "application/json; charset=utf-8")
                .status,
            201);
}

TEST_F(ApiTest, ImportRefusesAnythingButCsvWith415) {
  Reply r = call("POST", kList + "/import", "ip_address,description\n",
                 "application/json");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(error_code(r), "unsupported_media_type");
}

// What curl -d sends unless told otherwise.
const std::string kForm = "application/x-www-form-urlencoded";

TEST_F(ApiTest, AFormBodyIs415AndNeverReadAsQueryParameters) {
  // curl -d '{"ip_range":"198.18.0.1"}': httplib would make the whole body
  // the name of a query parameter.
  Reply r = call("POST", kList, R"({"ip_range":"198.18.0.1"})", kForm);
  EXPECT_EQ(r.status, 415) << r.text;
  EXPECT_EQ(error_code(r), "unsupported_media_type");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find(
                "Content-Type: application/json"),
            std::string::npos)
      << r.text;
  // A form body naming a query parameter of the route is not one either.
  r = call("POST", kList + "/import", "dry_run=maybe", kForm);
  EXPECT_EQ(r.status, 415) << r.text;
  EXPECT_EQ(error_code(r), "unsupported_media_type");
  EXPECT_EQ(get(kList).body["total"], 0);
}

TEST_F(ApiTest, EveryJsonRouteRefusesABodyOfAnotherOrNoMediaTypeWith415) {
  const std::string one = kList + "/" + add("198.18.0.0/24");
  const std::string before = api_.snapshot();
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", kList},
      {"PUT", kList},
      {"PATCH", one},
      {"DELETE", one},
      {"DELETE", kList},
      {"POST", one + "/enable"},
      {"POST", one + "/disable"},
      {"POST", kList + "/check"},
      {"POST", kList + "/activate"},
      {"POST", kList + "/deactivate"},
      {"POST", kList + "/confirm"},
  };
  // Past httplib's 8 KiB limit for form bodies, which answered 413.
  const std::string big_form = "x=" + std::string(10000, 'y');
  for (const auto &[method, path] : routes)
    for (const auto &[type, body] :
         std::vector<std::pair<std::string, std::string>>{
             {kForm, "{}"},
             {kForm, big_form},
             {"", "{}"},
             {"text/plain", "{}"},
             {"application/jsonx", "{}"},
             {"multipart/form-data; boundary=b", "--b--\r\n"}}) {
      std::string answer = sent_as(method, path, body, type);
      EXPECT_EQ(status_of_raw(answer), 415)
          << method << " " << path << " as '" << type << "': " << answer;
      EXPECT_TRUE(answer.ends_with(
          "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":"
          "\"the body " +
          std::string(type.empty() ? "has no Content-Type" : "is " + type) +
          "; this route takes application/json (with curl: -H "
          "'Content-Type: application/json')\"}}"))
          << answer;
    }
  EXPECT_EQ(api_.snapshot(), before);
}

TEST_F(ApiTest, ImportRefusesAFormOrNoMediaTypeWith415AndTakesPlainText) {
  const std::string csv = "ip_address,description\n198.18.0.1,x\n";
  for (const std::string &type : {kForm, std::string()}) {
    std::string answer = sent_as("POST", kList + "/import", csv, type);
    EXPECT_EQ(status_of_raw(answer), 415) << "'" << type << "': " << answer;
    EXPECT_TRUE(has(answer, "this route takes CSV as text/csv")) << answer;
  }
  EXPECT_EQ(
      call("POST", kList + "/import", csv, "text/plain; charset=utf-8").status,
      200);
}

TEST_F(ApiTest, AFormBodyAnnouncedWithExpectIsRefusedBeforeItIsSent) {
  std::string answer = raw("POST " + kList +
                           " HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: " +
                           kForm +
                           "\r\n"
                           "Content-Length: 25\r\n"
                           "Expect: 100-continue\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 415) << answer;
  EXPECT_NE(answer.find("unsupported_media_type"), std::string::npos);
}

TEST_F(ApiTest, ABodyForNoRouteIsAnswered404Or405UnreadAndUnparsed) {
  const std::string big_form = "x=" + std::string(10000, 'y');
  Reply r = call("POST", "/api/admin/nothing", big_form, kForm);
  EXPECT_EQ(r.status, 404) << r.text;
  EXPECT_EQ(error_code(r), "no_route");
  r = call("PUT", kList + "/status", big_form, kForm);
  EXPECT_EQ(r.status, 405) << r.text;
  auto allow = r.headers.find("Allow");
  ASSERT_NE(allow, r.headers.end());
  EXPECT_EQ(allow->second, "GET");
}

TEST_F(ApiTest, ABodyOver64MiBIs413AndTheConnectionStaysUsable) {
  static const std::string huge(64 * 1024 * 1024 + 1, 'x');
  httplib::Client c = client();
  httplib::Request req;
  req.method = "POST";
  req.path = kList + "/import";
  req.body = huge;
  req.set_header("Content-Type", "text/csv");
  Reply r = reply_of(c.send(req));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "body_too_large");
  EXPECT_EQ(reply_of(c.Get(kList)).status, 200);
}

TEST_F(ApiTest, ABodyOver64MiBAnnouncedWithExpectIsRefusedBeforeItIsSent) {
  std::string answer = raw("POST " + kList +
                           " HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: 70000000\r\n"
                           "Expect: 100-continue\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 413) << answer;
  EXPECT_NE(answer.find("body_too_large"), std::string::npos);
}

TEST_F(ApiTest, AnUnknownPathIs404NoRoute) {
  Reply r = get("/api/admin/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "no_route");
  EXPECT_EQ(error_code(get(kList + "/")), "no_route");
}

TEST_F(ApiTest, AKnownPathWithAnotherMethodIs405WithAllow) {
  Reply r = del(kList + "/status");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(error_code(r), "method_not_allowed");
  EXPECT_EQ(r.headers.find("Allow")->second, "GET");
  EXPECT_EQ(get(kList + "/check").status, 405);
  EXPECT_EQ(call("PUT", "/metrics", "x").status, 405);
}

TEST_F(ApiTest, HostBitsAre422WithTheCanonicalRangeSuggested) {
  Reply r = post(kList, {{"ip_range", "192.168.1.5/24"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code(r), "invalid_ip_range");
  EXPECT_EQ(r.body["error"]["field"], "ip_range");
  EXPECT_NE(
      r.body["error"]["message"].get<std::string>().find("192.168.1.0/24"),
      std::string::npos)
      << r.text;
}

TEST_F(ApiTest, QueryFlagsAcceptOnlyTrueFalseOneAndZero) {
  EXPECT_EQ(get(kList + "?include_disabled=0").status, 200);
  Reply r = get(kList + "?include_disabled=yes");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_parameter");
  EXPECT_EQ(r.body["error"]["field"], "include_disabled");
}

TEST_F(ApiTest, UnknownOrRepeatedQueryParametersAre400) {
  EXPECT_EQ(error_code(get(kList + "?foo=1")), "invalid_parameter");
  EXPECT_EQ(error_code(get(kList + "?include_disabled=1&include_disabled=0")),
            "invalid_parameter");
  EXPECT_EQ(error_code(get(kList + "/audit?limit=0")), "invalid_parameter");
  EXPECT_EQ(error_code(get(kList + "/audit?offset=-1")), "invalid_parameter");
  EXPECT_EQ(error_code(get(kList + "/denied?top=x")), "invalid_parameter");
}

// ---------------------------------------------------------------- the wire

TEST_F(ApiTest, APostWithoutContentLengthHasAnEmptyBodyAndIsAnsweredAtOnce) {
  auto begin = std::chrono::steady_clock::now();
  std::string answer = raw("POST " + kList +
                           "/activate HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 409) << answer; // empty_list, not a hang
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
}

TEST_F(ApiTest, MalformedHttpIs400InOurErrorShape) {
  std::string answer = raw("NONSENSE\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 400) << answer;
  EXPECT_NE(answer.find("\"bad_request\""), std::string::npos);
}

TEST_F(ApiTest, AnHttp10RequestIsAnsweredInHttp11AndTheConnectionCloses) {
  std::string answer = raw("GET " + kList + " HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << answer;
  EXPECT_TRUE(has(answer, "Connection: close")) << answer;
}

TEST_F(ApiTest, AHeadRequestGetsTheGetAnswersHeadWithoutItsBody) {
  const std::string get_answer =
      raw("GET " + kList + " HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::string head_answer =
      raw("HEAD " + kList + " HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::size_t end = get_answer.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << get_answer;
  EXPECT_EQ(head_answer, get_answer.substr(0, end + 4));
  EXPECT_TRUE(has(head_answer, "Content-Length: ")) << head_answer;
}

TEST_F(ApiTest, AVeryLongTargetIs414AndOneJustUnderTheLimitIsRouted) {
  std::string answer =
      raw("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 414) << answer.substr(0, 200);
  answer = raw("GET /" + std::string(8000, 'a') +
               " HTTP/1.1\r\n"
               "Connection: close\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 404) << answer.substr(0, 200);
}

TEST_F(ApiTest, EndlessHeadersAreCutOff) {
  std::string request = "GET " + kList + " HTTP/1.1\r\n";
  for (int i = 0; i < 5000; ++i)
    request += "X-Filler-" + std::to_string(i) + ": aaaaaaaaaaaaaaaaaaaa\r\n";
  std::string answer = raw(request + "\r\n");
  EXPECT_EQ(status_of_raw(answer), 400) << answer.substr(0, 200);
}

class ApiLimitsTest : public ApiTest {
protected:
  void SetUp() override {
    StreamLimits limits;
    limits.io_wait = 500ms;
    limits.request_time = 1000ms;
    limits.body_bytes = 1024;
    start_server(limits);
  }
};

TEST_F(ApiLimitsTest, AChunkedBodyOverTheLimitIs413) {
  std::string chunk(4096, 'x');
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", chunk.size());
  std::string request =
      "POST " + kList +
      " HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 300; ++i)
    request += std::string(size) + "\r\n" + chunk + "\r\n";
  request += "0\r\n\r\n";
  std::string answer = raw(request);
  EXPECT_EQ(status_of_raw(answer), 413) << answer.substr(0, 300);
}

TEST_F(ApiLimitsTest, ASlowClientIsCutOffWhileOthersAreServed) {
  Fd slow(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_path().string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(
      ::connect(slow.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)),
      0);
  auto begin = std::chrono::steady_clock::now();
  const std::string start = "GET " + kList + " HTTP/1.1\r\n";
  ASSERT_GT(::send(slow.get(), start.data(), start.size(), MSG_NOSIGNAL), 0);
  EXPECT_EQ(get(kList).status, 200);
  // One header byte every 300 ms keeps each read alive; the request
  // deadline still ends it.
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    std::this_thread::sleep_for(300ms);
    closed = ::send(slow.get(), "X", 1, MSG_NOSIGNAL) < 0;
    char byte;
    pollfd p{slow.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0 && ::recv(slow.get(), &byte, 1, MSG_PEEK) >= 0)
      closed = true;
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
}

TEST_F(ApiTest, SlowClientsHoldOnlyTheirOwnConnections) {
  // More slow clients than a fixed pool of 8 workers would have: each holds
  // a connection (and a thread) until its 30 s deadline, nobody else's.
  std::vector<Fd> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(test::connect_unix(socket_path()));
    ASSERT_TRUE(slow.back().valid());
    const std::string start = "GET " + kList + " HTTP/1.1\r\nX-Slow: a";
    ASSERT_GT(
        ::send(slow.back().get(), start.data(), start.size(), MSG_NOSIGNAL), 0);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(get(kList).status, 200);
  EXPECT_EQ(post(kList + "/check", {{"ip_address", "192.0.2.1"}}).status, 200);
}

TEST_F(ApiTest, StoppingRemovesTheSocketFile) {
  ASSERT_TRUE(std::filesystem::exists(socket_path()));
  struct stat st {};
  ASSERT_EQ(::stat(socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  api_.stop_server();
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

TEST_F(ApiTest, AStaleSocketIsReplacedButALiveOneIsNot) {
  ApiServerOptions options;
  options.socket_path = socket_path();
  ApiBackend backend = api_.backend();
  auto second = ApiServer::start(options, backend);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("already running"), std::string::npos);

  // A socket file nobody listens on, as a crashed daemon leaves it.
  api_.stop_server();
  Fd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_path().string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(
      ::bind(stale.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)),
      0);
  stale.reset();
  auto third = ApiServer::start(options, backend);
  ASSERT_TRUE(third.ok()) << third.error().message;
}

// ---------------------------------------------------------------- access

// Runs `requests` on a thread of its own with the given credentials and
// returns the status of each answer. The raw syscalls change the calling
// thread's credentials only (glibc's wrappers would change every thread's),
// and the server takes them from SO_PEERCRED at connect. A forked child of
// this threaded process could deadlock on a lock held at the fork (issue 15).
std::vector<int> as_user(gid_t gid, const std::vector<gid_t> &groups,
                         const std::function<std::vector<int>()> &requests) {
  std::vector<int> statuses;
  std::thread as_other_user([&] {
    if (::syscall(SYS_setgroups, groups.size(), groups.data()) != 0 ||
        ::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
        ::syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) {
      ADD_FAILURE() << "cannot take uid " << kNobody << " gid " << gid << ": "
                    << std::strerror(errno);
      return;
    }
    statuses = requests();
  });
  as_other_user.join();
  return statuses;
}

class ApiAccessTest : public ApiTest {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root to drop to another uid";
    ApiTest::SetUp();
    id_ = add("203.0.113.0/24");
  }

  // One request per route of docs/API.md, reads first (kReads of them).
  std::vector<int> every_route() const {
    const std::string one = kList + "/" + id_;
    return {
        get(kList).status,
        get(one).status,
        post(kList + "/check", {{"ip_address", "192.0.2.1"}}).status,
        get(kList + "/export").status,
        get(kList + "/status").status,
        get(kList + "/audit").status,
        get(kList + "/denied").status,
        get("/metrics").status,
        get(kList + "/fleet").status,
        get("/no/such/route").status,
        // writes
        post(kList, {{"ip_range", "192.0.2.1"}}).status,
        put(kList, json::array({{{"ip_range", "203.0.113.0/24"}},
                                {{"ip_range", "192.0.2.1"}}}))
            .status,
        patch(one, {{"description", "x"}}).status,
        post(one + "/disable").status,
        post(one + "/enable").status,
        call("POST", kList + "/import", "ip_address,description\n", "text/csv")
            .status,
        post(kList + "/activate").status,
        post(kList + "/deactivate").status,
        post(kList + "/confirm").status,
        del(kList + "/" + id_ + "x").status,
        del(kList).status,
    };
  }
  static constexpr std::size_t kReads = 10;
  static constexpr std::size_t kRoutes = 21;

  // The 403 message a GET and a POST of the list get as kNobody in `groups`.
  std::vector<std::string> refusals(const std::vector<gid_t> &groups) const {
    std::vector<std::string> messages;
    as_user(kNobody, groups, [&] {
      for (const Reply &r :
           {get(kList), post(kList, {{"ip_range", "198.18.0.1"}})})
        messages.push_back(r.status == 403
                               ? r.body["error"]["message"].get<std::string>()
                               : "answered " + std::to_string(r.status));
      return std::vector<int>();
    });
    return messages;
  }

  std::string id_;
};

TEST_F(ApiAccessTest, AnOutsiderIsToldToJoinTheConfiguredGroups) {
  for (const std::string &message : refusals({})) {
    EXPECT_TRUE(has(message, "join the group " + kReadGroup)) << message;
    EXPECT_TRUE(has(message, "join the group " + kWriteGroup)) << message;
    EXPECT_TRUE(has(message, "sudo usermod -aG " + kReadGroup + " " +
                                 user_name(kNobody)))
        << message;
    EXPECT_FALSE(has(message, "xdpgate-read")) << message;
  }
}

TEST_F(ApiAccessTest, AReaderIsToldToJoinTheConfiguredWriteGroup) {
  std::vector<std::string> messages = refusals({kReadGid});
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], "answered 200");
  EXPECT_TRUE(has(messages[1], "may read but not change")) << messages[1];
  EXPECT_TRUE(has(messages[1],
                  "sudo usermod -aG " + kWriteGroup + " " + user_name(kNobody)))
      << messages[1];
  EXPECT_FALSE(has(messages[1], kReadGroup)) << messages[1];
}

TEST_F(ApiAccessTest,
       AGroupMissingAtStartIsToldToBeCreatedThenTheDaemonRestarted) {
  ApiServerOptions options;
  options.access = {std::nullopt, kReadGid, kWriteGroup, kReadGroup};
  Status started = api_.start(options);
  ASSERT_TRUE(started.ok()) << started.error().message;
  std::vector<std::string> messages = refusals({kReadGid});
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_TRUE(has(messages[1], "sudo groupadd " + kWriteGroup)) << messages[1];
  EXPECT_TRUE(has(messages[1], "restart xdpgated")) << messages[1];
}

TEST_F(ApiAccessTest, AnOutsiderIsForbiddenOnEveryRoute) {
  std::vector<int> statuses =
      as_user(kNobody, {}, [this] { return every_route(); });
  ASSERT_EQ(statuses.size(), kRoutes);
  for (std::size_t i = 0; i < statuses.size(); ++i)
    EXPECT_EQ(statuses[i], 403) << "request " << i;
  EXPECT_EQ(get(kList).body["total"], 1);
}

TEST_F(ApiAccessTest, TheReadGroupMayReadButNotWrite) {
  std::vector<int> statuses =
      as_user(kNobody, {kReadGid}, [this] { return every_route(); });
  ASSERT_EQ(statuses.size(), kRoutes);
  for (std::size_t i = 0; i < kReads - 2; ++i)
    EXPECT_EQ(statuses[i], 200) << "read " << i;
  EXPECT_EQ(statuses[kReads - 2], 404); // a store of its own: no fleet
  EXPECT_EQ(statuses[kReads - 1], 404); // no route, but not forbidden
  for (std::size_t i = kReads; i < statuses.size(); ++i)
    EXPECT_EQ(statuses[i], 403) << "write " << i;
  EXPECT_EQ(get(kList).body["total"], 1);
}

TEST_F(ApiAccessTest, TheReadGroupAsPrimaryGroupMayRead) {
  std::vector<int> statuses = as_user(kReadGid, {}, [this] {
    return std::vector<int>{get(kList).status,
                            post(kList, {{"ip_range", "192.0.2.1"}}).status};
  });
  EXPECT_EQ(statuses, (std::vector<int>{200, 403}));
}

TEST_F(ApiAccessTest, TheWriteGroupMayWriteAndIsNamedAsCreator) {
  std::vector<int> statuses = as_user(kNobody, {kWriteGid}, [this] {
    return std::vector<int>{post(kList, {{"ip_range", "192.0.2.1"}}).status,
                            get(kList).status};
  });
  EXPECT_EQ(statuses, (std::vector<int>{201, 200}));
  json added;
  Reply list = get(kList);
  for (const json &item : list.body["items"])
    if (item["ip_range"] == "192.0.2.1")
      added = item;
  ASSERT_TRUE(added.is_object());
  EXPECT_EQ(added["created_by"], user_name(kNobody));
  EXPECT_EQ(get(kList + "/audit?limit=1").body["items"][0]["actor"],
            user_name(kNobody));
}

TEST_F(ApiAccessTest, AForbiddenWriteWithABodyIsAnsweredAndTheConnectionKept) {
  std::vector<int> statuses = as_user(kNobody, {kReadGid}, [this] {
    httplib::Client c = client();
    httplib::Request req;
    req.method = "PUT";
    req.path = kList;
    req.body = std::string(100000, ' ') + "[]";
    req.set_header("Content-Type", "application/json");
    return std::vector<int>{reply_of(c.send(req)).status,
                            reply_of(c.Get(kList)).status};
  });
  EXPECT_EQ(statuses, (std::vector<int>{403, 200}));
  EXPECT_EQ(get(kList).body["total"], 1);
}

} // namespace
} // namespace xdpgate::api
