// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Hostile input to the control API (issue 6), as one table: each row is a
// request (or raw bytes) that the in-process server (tests/support/
// api_fixture.hpp) must refuse, with the status and error code of every
// answer it must give, in order. Each row goes out as raw bytes on its own
// connection, which is then half-closed; the server must answer exactly so
// and close. After every row the list, the restriction state, the audit log
// and the kernel must be as they were.
//
// The rows cover every field of every write route (wrong JSON type, out of
// range, huge, empty, unicode, NUL bytes), unknown and repeated fields, deep
// nesting, bodies past the 64 MiB limit (sent in pieces, so that the test
// does not hold them; the server must not either), and malformed, truncated
// and pipelined HTTP.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/api_fixture.hpp"
#include "support/http_wire.hpp"

namespace xdpgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using namespace std::string_literals;

const std::string kList = "/api/admin/ip-allowlist";
constexpr std::size_t kMiB = 1024 * 1024;
// The body limit of every route but add, replace and import.
constexpr std::size_t kSmallBody = 64 * 1024;

// One answer the server must give: its status and error code.
struct Answer {
  int status = 0;
  std::string code;
  bool operator==(const Answer &) const = default;
};

std::ostream &operator<<(std::ostream &out, const Answer &a) {
  return out << a.status << " " << (a.code.empty() ? "-" : a.code);
}

struct Row {
  std::string what;
  std::string wire;             // sent first
  std::vector<Answer> answers;  // every answer, in order; then the server
                                // closes (none: it closes without one)
  std::string filler = {};      // then sent `filler_times` times: a big
  std::size_t filler_times = 0; // body without a big string in the test
  bool half_close = true;       // false: the client stalls instead of closing
};

// ------------------------------------------------------------ wire builders

// A request with the given body; Content-Length follows the body, and
// Content-Type is sent when not empty.
std::string request(const std::string &method, const std::string &target,
                    const std::string &body = "",
                    const std::string &type = "application/json") {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: xdpgate\r\n";
  if (!type.empty())
    out += "Content-Type: " + type + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

std::string post(const std::string &target, const json &body) {
  return request("POST", target, body.dump());
}
std::string put(const json &body) { return request("PUT", kList, body.dump()); }
std::string patch(const std::string &id, const json &body) {
  return request("PATCH", kList + "/" + id, body.dump());
}
std::string csv(const std::string &text, const std::string &query = "") {
  return request("POST", kList + "/import" + query, text, "text/csv");
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

Answer bad_field() { return {400, "invalid_field"}; }
Answer bad_json() { return {400, "invalid_json"}; }
Answer bad_parameter() { return {400, "invalid_parameter"}; }
Answer bad_range() { return {422, "invalid_ip_range"}; }
Answer bad_address() { return {422, "invalid_ip_address"}; }
Answer bad_description() { return {422, "invalid_description"}; }
Answer bad_value() { return {422, "invalid_value"}; }
Answer bad_csv() { return {422, "invalid_csv"}; }
Answer bad_http() { return {400, "bad_request"}; }
Answer bad_media() { return {415, "unsupported_media_type"}; }
Answer not_found() { return {404, "not_found"}; }
Answer no_route() { return {404, "no_route"}; }
Answer too_large() { return {413, "body_too_large"}; }
Answer ok() { return {200, ""}; }

// Wrong JSON types for a field that takes `except`'s type.
std::vector<std::pair<std::string, json>> wrong_types(const char *except) {
  std::vector<std::pair<std::string, json>> all = {
      {"number", 3},
      {"negative", -1},
      {"float", 1.5},
      {"true", true},
      {"string", "x"},
      {"array", json::array({"192.0.2.1"})},
      {"object", json::object({{"v", 1}})},
      {"null", nullptr}};
  std::vector<std::pair<std::string, json>> out;
  for (auto &[name, value] : all)
    if (name != except)
      out.emplace_back(name, value);
  return out;
}

// ------------------------------------------------------------ the table

std::vector<Row> hostile_rows(const std::string &id, const std::string &other) {
  std::vector<Row> rows;
  auto row = [&](std::string what, std::string wire,
                 std::vector<Answer> answers) {
    rows.push_back({std::move(what), std::move(wire), std::move(answers)});
  };
  const std::string one = kList + "/" + id;
  const std::string huge(kMiB, '1');
  const json ok_entry = {{"ip_range", "192.0.2.1"}};

  // POST (add) and PUT (replace): every field of an entry, as the object
  // itself (add) and as the second element of an array (both).
  struct Field {
    const char *name;
    const char *type; // the JSON type it takes (null where it may be null)
    std::vector<std::pair<std::string, json>> bad_values; // 422 values
    Answer value_error;
  };
  const std::vector<Field> entry_fields = {
      {"ip_range",
       "string",
       {{"/33", "192.0.2.0/33"},
        {"v6 /200", "::ffff:1.2.3.4/200"},
        {"three octets", "1.2.3"},
        {"octet 256", "192.0.2.256"},
        {"host bits", "192.168.1.5/24"},
        {"leading zero", "192.0.2.01"},
        {"empty", ""},
        {"whitespace", " 192.0.2.1"},
        {"trailing newline", "192.0.2.1\n"},
        {"huge", huge},
        {"60 KiB", std::string(60 * 1024, '1')},
        {"fullwidth digits", "\xef\xbc\x91\xef\xbc\x99\xef\xbc\x92.0.2.1"},
        {"unicode slash", "192.0.2.0\xe2\x88\x95"
                          "24"},
        {"NUL inside", "192.0.2.1\0/32"s},
        {"NUL at end", "192.0.2.1\0"s},
        {"percent-encoded", "192.0.2.1%2F32"},
        {"zone id", "fe80::1%eth0"}},
       bad_range()},
      {"description",
       "string",
       {{"257 bytes", std::string(257, 'd')},
        {"129 two-byte characters",
         [] {
           std::string s;
           for (int i = 0; i < 129; ++i)
             s += "\xc3\xa9";
           return s;
         }()},
        {"huge", std::string(kMiB, 'd')},
        {"60 KiB", std::string(60 * 1024, 'd')},
        {"NUL byte", "office\0x"s},
        {"line break", "office\nx"},
        {"escape character", "office\x1b[31m"},
        {"C1 control", "office\xc2\x85"}},
       bad_description()},
      {"enabled", "true", {}, {}},
      {"expires_at",
       "number",
       {{"zero", 0}, {"negative", -1}, {"most negative", INT64_MIN}},
       bad_value()},
  };

  for (const Field &f : entry_fields) {
    const std::string name = f.name;
    auto with = [&](const json &value) {
      json e = ok_entry;
      e[name] = value;
      return e;
    };
    auto types = wrong_types(f.type);
    if (name == "description" || name == "expires_at")
      std::erase_if(types, [](auto &t) { return t.first == "null"; });
    if (name == "expires_at")
      std::erase_if(types, [](auto &t) { return t.first == "negative"; });
    if (name == "enabled")
      types.emplace_back("string \"true\"", "true");
    if (name == "expires_at") {
      types.emplace_back("string of digits", "1763880000000");
      types.emplace_back("past 2^63", json(std::uint64_t{1} << 63));
      types.emplace_back("2^64 and more", json::parse("18446744073709551616"));
      types.emplace_back("1e300", json::parse("1e300"));
    }
    for (auto &[type, value] : types) {
      row("POST " + name + ": " + type, post(kList, with(value)),
          {bad_field()});
      row("PUT [1]." + name + ": " + type,
          put(json::array({ok_entry, with(value)})), {bad_field()});
    }
    for (auto &[what, value] : f.bad_values) {
      row("POST " + name + ": " + what, post(kList, with(value)),
          {f.value_error});
      row("POST [1]." + name + ": " + what,
          post(kList, json::array({ok_entry, with(value)})), {f.value_error});
      row("PUT [1]." + name + ": " + what,
          put(json::array({ok_entry, with(value)})), {f.value_error});
    }
  }
  row("POST without ip_range", post(kList, {{"description", "x"}}),
      {bad_field()});
  row("PUT [1] without ip_range",
      put(json::array({ok_entry, {{"enabled", true}}})), {bad_field()});
  row("POST unknown field", post(kList, {{"ip_range", "192.0.2.1"}, {"x", 1}}),
      {bad_field()});
  row("POST field in another case", post(kList, {{"IP_RANGE", "192.0.2.1"}}),
      {bad_field()});
  row("POST a read-only field",
      post(kList, {{"ip_range", "192.0.2.1"}, {"id", "ip_0000000000"}}),
      {bad_field()});
  row("POST a huge unknown field",
      post(kList, {{"ip_range", "192.0.2.1"}, {std::string(kMiB, 'k'), 1}}),
      {bad_field()});
  row("POST [1] unknown field",
      post(kList,
           json::array(
               {ok_entry, {{"ip_range", "192.0.2.2"}, {"created_by", "x"}}})),
      {bad_field()});
  for (auto &[type, value] : wrong_types("object")) {
    if (type == "array")
      continue; // an array is the batch form
    row("POST body: " + type, post(kList, value), {bad_field()});
    row("POST [1]: " + type, post(kList, json::array({ok_entry, value})),
        {bad_field()});
  }
  for (auto &[type, value] : wrong_types("array"))
    row("PUT body: " + type, put(value), {bad_field()});
  row("PUT [1]: a string", put(json::array({ok_entry, "192.0.2.2"})),
      {bad_field()});
  row("POST the same range twice, once bad",
      post(kList,
           json::array(
               {ok_entry, {{"ip_range", "192.0.2.1"}, {"description", "\n"}}})),
      {bad_description()});
  row("PUT ?force=yes", request("PUT", kList + "?force=yes", "[]"),
      {bad_parameter()});
  row("PUT ?dry_run=maybe", request("PUT", kList + "?dry_run=maybe", "[]"),
      {bad_parameter()});

  // PATCH: every field, plus ids that are not there.
  for (const Field &f : entry_fields) {
    auto types = wrong_types(f.type);
    if (std::string(f.name) == "description" ||
        std::string(f.name) == "expires_at")
      std::erase_if(types, [](auto &t) { return t.first == "null"; });
    if (std::string(f.name) == "expires_at")
      std::erase_if(types, [](auto &t) { return t.first == "negative"; });
    for (auto &[type, value] : types)
      row("PATCH " + std::string(f.name) + ": " + type,
          patch(id, {{f.name, value}}), {bad_field()});
    // PATCH takes small bodies only: a huge value is a body too large.
    for (auto &[what, value] : f.bad_values) {
      std::string wire = patch(id, {{f.name, value}});
      row("PATCH " + std::string(f.name) + ": " + what, wire,
          {wire.size() > kSmallBody ? too_large() : f.value_error});
    }
  }
  row("PATCH to another entry's range",
      patch(id, {{"ip_range", "2001:db8:a::/48"}}), {{409, "range_exists"}});
  row("PATCH to another entry's range, written differently",
      patch(id, {{"ip_range", "2001:0db8:000a::/48"}}),
      {{409, "range_exists"}});
  row("PATCH unknown field", patch(id, {{"hits", 0}}), {bad_field()});
  row("PATCH body: array", patch(id, json::array({{{"enabled", false}}})),
      {bad_field()});
  row("PATCH body: string", patch(id, "x"), {bad_field()});
  row("PATCH an unknown id", patch("ip_0000000000", {{"enabled", false}}),
      {not_found()});
  row("PATCH an id of 7000 bytes",
      patch(std::string(7000, 'i'), {{"enabled", false}}), {not_found()});
  row("PATCH an id with a percent-encoded NUL",
      patch(id + "%00", {{"enabled", false}}), {not_found()});
  row("PATCH an id in unicode", patch("ip_\xc3\xa9", {{"enabled", false}}),
      {not_found()});
  row("PATCH ?force=2", request("PATCH", one + "?force=2", "{}"),
      {bad_parameter()});
  row("PATCH with an empty body", request("PATCH", one), {bad_json()});

  // DELETE, enable, disable: ids and query flags.
  row("DELETE an unknown id", request("DELETE", kList + "/ip_0000000000"),
      {not_found()});
  row("DELETE an id with a trailing slash", request("DELETE", one + "/"),
      {no_route()});
  row("DELETE an id with ../", request("DELETE", one + "/../" + other),
      {no_route()});
  row("DELETE ?force=on", request("DELETE", one + "?force=on"),
      {bad_parameter()});
  row("DELETE ?force twice", request("DELETE", one + "?force=1&force=1"),
      {bad_parameter()});
  row("DELETE ?force without a value", request("DELETE", one + "?force"),
      {bad_parameter()});
  row("DELETE the collection ?force=1", request("DELETE", kList + "?force=1"),
      {bad_parameter()});
  row("DELETE the collection with a body naming ids",
      request("DELETE", kList, json{{"ids", {id}}}.dump()), {bad_field()});
  row("DELETE an entry with a body", request("DELETE", one, "{\"x\":1}"),
      {bad_field()});
  row("enable an unknown id", request("POST", kList + "/ip_0000000000/enable"),
      {not_found()});
  row("enable with null as the body", request("POST", one + "/enable", "null"),
      {bad_field()});
  row("disable ?force=TRUE", request("POST", one + "/disable?force=TRUE"),
      {bad_parameter()});
  row("disable with a body", post(one + "/disable", {{"force", true}}),
      {bad_field()});
  row("disable with a body that is not JSON",
      request("POST", one + "/disable", "force", "text/plain"), {bad_media()});
  row("enable with a body", post(one + "/enable", {{"enabled", true}}),
      {bad_field()});

  // check (a read, but input all the same).
  for (auto &[type, value] : wrong_types("string"))
    row("check ip_address: " + type,
        post(kList + "/check", {{"ip_address", value}}), {bad_field()});
  for (const auto &[what, value] : std::vector<std::pair<std::string, json>>{
           {"a range", "192.0.2.0/24"},
           {"empty", ""},
           {"60 KiB", std::string(60 * 1024, '1')},
           {"60 KiB", std::string(60 * 1024, '1')},
           {"NUL inside", "192.0.2.1\0"s},
           {"unicode", "\xd9\xa1\xd9\xa9\xd9\xa2.0.2.1"},
           {"v6 with zone", "fe80::1%lo"}})
    row("check ip_address: " + what,
        post(kList + "/check", {{"ip_address", value}}), {bad_address()});
  row("check ip_address: huge (a body past 64 KiB)",
      post(kList + "/check", {{"ip_address", huge}}), {too_large()});
  row("check without ip_address", post(kList + "/check", json::object()),
      {bad_field()});
  row("check unknown field",
      post(kList + "/check", {{"ip_address", "192.0.2.1"}, {"ip", "x"}}),
      {bad_field()});

  // import: media type, query flags, and CSV content.
  const std::string header = "ip_address,description\n";
  row("import as JSON",
      request("POST", kList + "/import", header, "application/json"),
      {bad_media()});
  row("import without a Content-Type",
      request("POST", kList + "/import", header + "192.0.2.1,\n", ""),
      {bad_media()});
  row("import ?dry_run=maybe", csv(header, "?dry_run=maybe"),
      {bad_parameter()});
  row("import ?replace=1&replace=1", csv(header, "?replace=1&replace=1"),
      {bad_parameter()});
  row("import ?overwrite=true", csv(header, "?overwrite=true"),
      {bad_parameter()});
  row("import an empty file", csv("", ""), {bad_csv()});
  row("import without the header", csv("192.0.2.1,x\n"), {bad_csv()});
  row("import with the columns swapped",
      csv("description,ip_address\nx,192.0.2.1\n"), {bad_csv()});
  row("import a bad range among good ones",
      csv(header + "192.0.2.1,a\n192.0.2.300,b\n192.0.2.3,c\n"), {bad_csv()});
  row("import a NUL in a range", csv(header + "192.0.2.1\0,a\n"s), {bad_csv()});
  row("import a NUL in a description", csv(header + "192.0.2.1,a\0b\n"s),
      {bad_csv()});
  row("import invalid UTF-8", csv(header + "192.0.2.1,\xff\xfe\n"),
      {bad_csv()});
  row("import a description over 256 bytes",
      csv(header + "192.0.2.1," + std::string(300, 'x') + "\n"), {bad_csv()});
  row("import an unterminated quote",
      csv(header + "192.0.2.1,\"open\n192.0.2.2,b\n"), {bad_csv()});
  row("import three fields", csv(header + "192.0.2.1,a,b\n"), {bad_csv()});
  row("import a 4 MiB line", csv(header + std::string(4 * kMiB, '1') + ",x\n"),
      {bad_csv()});
  row("import 100000 bad lines", csv([&] {
        std::string text = header;
        for (int i = 0; i < 100000; ++i)
          text += "x\n";
        return text;
      }()),
      {bad_csv()});

  // activate, deactivate, confirm.
  for (auto &[type, value] : wrong_types("string"))
    row("activate mode: " + type, post(kList + "/activate", {{"mode", value}}),
        {bad_field()});
  for (const char *mode : {"off", "ENFORCE", "", "enforce ", "drop"})
    row(std::string("activate mode: \"") + mode + "\"",
        post(kList + "/activate", {{"mode", mode}}), {bad_value()});
  for (auto &[type, value] : wrong_types("true"))
    row("activate allow_empty: " + type,
        post(kList + "/activate", {{"allow_empty", value}}), {bad_field()});
  for (auto &[type, value] : wrong_types("number")) {
    if (type == "negative")
      continue;
    row("activate confirm_within_s: " + type,
        post(kList + "/activate", {{"confirm_within_s", value}}),
        {bad_field()});
  }
  for (json value : {json(0), json(-1), json(86401), json(INT64_MAX)})
    row("activate confirm_within_s: " + value.dump(),
        post(kList + "/activate", {{"confirm_within_s", value}}),
        {bad_value()});
  row("activate confirm_within_s: 2^64",
      request("POST", kList + "/activate",
              R"({"confirm_within_s": 18446744073709551616})"),
      {bad_field()});
  row("activate unknown field",
      post(kList + "/activate", {{"mode", "enforce"}, {"force", true}}),
      {bad_field()});
  row("activate body: array", post(kList + "/activate", json::array()),
      {bad_field()});
  row("activate with a good mode and a bad flag",
      post(kList + "/activate", {{"mode", "enforce"}, {"allow_empty", 1}}),
      {bad_field()});
  row("confirm without a pending activation",
      request("POST", kList + "/confirm"), {{409, "not_pending"}});
  row("deactivate with a body", post(kList + "/deactivate", {{"mode", "off"}}),
      {bad_field()});

  // JSON itself, on the add route.
  row("not JSON", request("POST", kList, "ip_range=192.0.2.1"), {bad_json()});
  row("an empty body", request("POST", kList, ""), {bad_json()});
  row("only whitespace", request("POST", kList, " \r\n\t"), {bad_json()});
  row("truncated JSON", request("POST", kList, R"({"ip_range": "192.0.2.1")"),
      {bad_json()});
  row("trailing garbage",
      request("POST", kList, R"({"ip_range": "192.0.2.1"}x)"), {bad_json()});
  row("two values", request("POST", kList, R"({"ip_range": "192.0.2.1"} {})"),
      {bad_json()});
  row("a trailing comma",
      request("POST", kList, R"({"ip_range": "192.0.2.1",})"), {bad_json()});
  row("single quotes", request("POST", kList, R"({'ip_range': '192.0.2.1'})"),
      {bad_json()});
  row("a comment", request("POST", kList, R"({"ip_range": "192.0.2.1"} // x)"),
      {bad_json()});
  row("a raw NUL byte in a string",
      request("POST", kList, "{\"ip_range\": \"192.0.2.1\0\"}"s), {bad_json()});
  row("a raw NUL byte between tokens",
      request("POST", kList, "{\"ip_range\":\0\"192.0.2.1\"}"s), {bad_json()});
  row("a raw line break in a string",
      request("POST", kList, "{\"ip_range\": \"192.0.2.1\n\"}"), {bad_json()});
  row("invalid UTF-8 in a string",
      request("POST", kList,
              "{\"ip_range\": \"192.0.2.1\", \"description\": "
              "\"\xc3\x28\"}"),
      {bad_json()});
  row("overlong UTF-8 for '/'",
      request("POST", kList,
              "{\"ip_range\": \"192.0.2.0\xc0\xaf"
              "24\"}"),
      {bad_json()});
  row("a lone surrogate escape",
      request("POST", kList,
              R"({"ip_range": "192.0.2.1", "description": "\ud800"})"),
      {bad_json()});
  row("a UTF-8 byte order mark (allowed)",
      request("POST", kList + "/check",
              "\xef\xbb\xbf{\"ip_address\": \"192.0.2.1\"}"),
      {ok()});
  row("duplicate keys",
      request("POST", kList,
              R"({"ip_range": "192.0.2.1", "ip_range": "192.0.2.2"})"),
      {bad_json()});
  row("duplicate keys that differ only by escaping",
      request("POST", kList,
              R"({"ip_range": "192.0.2.1", "ip_r\u0061nge": "192.0.2.2"})"),
      {bad_json()});
  row("duplicate keys in an array element",
      request(
          "POST", kList,
          R"([{"ip_range": "192.0.2.1"}, {"enabled": true, "enabled": false, "ip_range": "192.0.2.2"}])"),
      {bad_json()});
  row("duplicate keys in activate",
      request("POST", kList + "/activate",
              R"({"mode": "monitor", "mode": "enforce"})"),
      {bad_json()});
  row("33 levels of nesting", request("POST", kList, nested(33)), {bad_json()});
  row("100000 '['", request("POST", kList, std::string(100000, '[')),
      {bad_json()});
  row("100000 nested objects",
      request("POST", kList,
              [] {
                std::string s;
                for (int i = 0; i < 100000; ++i)
                  s += "{\"a\":";
                return s;
              }()),
      {bad_json()});
  row("100000 nested arrays in PUT", request("PUT", kList, nested(100000)),
      {bad_json()});
  row("a number of 100000 digits",
      request("POST", kList,
              R"({"ip_range": "192.0.2.1", "expires_at": )" +
                  std::string(100000, '9') + "}"),
      {bad_json()}); // too large for a double: not a JSON value we can hold
  row("a JSON route with text/plain",
      request("POST", kList, ok_entry.dump(), "text/plain"), {bad_media()});
  row("a JSON route without Content-Type",
      request("POST", kList, ok_entry.dump(), ""), {bad_media()});
  row("application/jsonx",
      request("POST", kList, ok_entry.dump(), "application/jsonx"),
      {bad_media()});
  row("a multipart form",
      request("POST", kList, "--b\r\n\r\n--b--\r\n",
              "multipart/form-data; boundary=b"),
      {bad_media()});

  // Bodies past the limit: announced, chunked, and a 100 MB one sent in
  // pieces; the server must answer 413 without holding the body.
  rows.push_back({"100 MB body with Content-Length",
                  "POST " + kList +
                      "/import HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: text/csv\r\nContent-Length: " +
                      std::to_string(100 * kMiB) + "\r\n\r\n",
                  {too_large()},
                  std::string(kMiB, '1'),
                  100});
  rows.push_back({"100 MB chunked body",
                  "POST " + kList +
                      " HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n",
                  {too_large()},
                  "100000\r\n" + std::string(kMiB, ' ') + "\r\n",
                  100});
  row("a Content-Length of 2^64",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 18446744073709551616\r\n\r\n{}",
      {too_large()});

  // Malformed HTTP.
  row("garbage", "NONSENSE\r\n\r\n", {bad_http()});
  row("binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc"s, {bad_http()});
  row("an unknown method", "BREW " + kList + " HTTP/1.1\r\nHost: x\r\n\r\n",
      {bad_http()});
  row("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {bad_http()});
  row("HTTP/0.9", "GET " + kList + "\r\n\r\n", {bad_http()});
  row("HTTP/9.9", "GET " + kList + " HTTP/9.9\r\nHost: x\r\n\r\n",
      {bad_http()});
  row("a header without a colon",
      "GET " + kList + " HTTP/1.1\r\nHost x\r\n\r\n", {bad_http()});
  row("a NUL in the request line",
      "POST /api/admin/ip-allowlist\0 HTTP/1.1\r\n\r\n"s, {bad_http()});
  row("a Content-Length that is not a number",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 12abc\r\n\r\n{\"a\":1}",
      {bad_http()});
  row("a negative Content-Length",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: -1\r\n\r\n{}",
      {bad_http()});
  row("two different Content-Lengths",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 2\r\nContent-Length: 30\r\n\r\n"
          "{}POST /api/admin/ip-allowlist/deactivate HTTP/1.1\r\n\r\n",
      {bad_http()});
  row("Content-Length and chunked",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
          "0\r\n\r\n",
      {bad_http()});
  row("a transfer coding other than chunked",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      {bad_http()});
  row("a bad chunk size",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      {bad_http()});
  row("a target of 9000 bytes",
      "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n",
      {{414, "uri_too_long"}});
  row("100 KiB of headers",
      [] {
        std::string r = "GET /api/admin/ip-allowlist HTTP/1.1\r\n";
        for (int i = 0; i < 2000; ++i)
          r += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'a') +
               "\r\n";
        return r + "\r\n";
      }(),
      {bad_http()});

  // Truncated: the client closes (or stalls) part way.
  row("EOF before anything", "", {});
  row("EOF in the request line", "POST /api/admin/ip-al", {bad_http()});
  row("EOF in the headers", "POST " + kList + " HTTP/1.1\r\nContent-Ty",
      {bad_http()});
  row("EOF in the body",
      [&] {
        std::string r = post(kList, ok_entry);
        return r.substr(0, r.size() - 5);
      }(),
      {bad_http()});
  row("EOF in a chunked body",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\n20\r\n{\"ip_range\":",
      {bad_http()});
  rows.push_back({"a stall in the body",
                  [&] {
                    std::string r = post(kList, ok_entry);
                    return r.substr(0, r.size() - 5);
                  }(),
                  {bad_http()},
                  "",
                  0,
                  false});

  // Pipelined: several requests in one write. Each gets its answer, in
  // order; after an error at the HTTP level the connection ends.
  row("pipelined: a read, then a bad write",
      request("GET", kList, "", "") + post(kList, {{"ip_range", 3}}),
      {ok(), bad_field()});
  row("pipelined: bad JSON, then a read, then a bad range",
      request("POST", kList, "{") + request("GET", kList + "/status", "", "") +
          post(kList, {{"ip_range", "10.0.0.1/8"}}),
      {bad_json(), ok(), bad_range()});
  row("pipelined: malformed HTTP ends the connection",
      "BREW / HTTP/1.1\r\n\r\n" + post(kList, ok_entry), {bad_http()});
  row("pipelined: 413 ends the connection",
      "POST " + kList +
          " HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 99999999999\r\n\r\n" +
          post(kList, ok_entry),
      {too_large()});
  row("pipelined: a body shorter than announced swallows the next request",
      "POST " + kList +
          "/check HTTP/1.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 60\r\n\r\n{\"ip_address\": \"192.0.2.1\"}" +
          request("DELETE", kList),
      {bad_json(), bad_http()});
  {
    const std::string smuggled = request("DELETE", kList, "", "");
    row("pipelined: a GET body is not taken as a request",
        "GET " + kList + " HTTP/1.1\r\nContent-Length: " +
            std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled,
        {ok()});
  }
  row(
      "pipelined: 101 reads, 100 answered",
      [] {
        std::string r;
        for (int i = 0; i < 101; ++i)
          r += request("GET", "/metrics", "", "");
        return r;
      }(),
      std::vector<Answer>(100, ok()));
  return rows;
}

// ------------------------------------------------------------ running it

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

struct Outcome {
  std::vector<Answer> answers;
  std::string trouble;     // malformed answers, or no close
  long rss_growth_kib = 0; // the process's peak VmRSS above the start
  std::size_t largest_answer = 0;
};

Outcome run(const std::filesystem::path &socket, const Row &row) {
  Outcome out;
  Fd sock = connect_unix(socket);
  if (!sock.valid()) {
    out.trouble = "cannot connect";
    return out;
  }
  // The whole process's RSS, sampled while the row runs: the server is in
  // this process, so a server that buffered a big body would show here.
  const long rss_before = rss_kib();
  std::atomic<bool> sampling{true};
  std::atomic<long> rss_peak{rss_before};
  std::thread sampler([&] {
    while (sampling) {
      rss_peak = std::max(rss_peak.load(), rss_kib());
      std::this_thread::sleep_for(2ms);
    }
  });
  auto send_all = [&](std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(sock.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false; // the server closed early: fine, read its answer
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  };
  bool sending = send_all(row.wire);
  for (std::size_t i = 0; sending && i < row.filler_times; ++i)
    sending = send_all(row.filler);
  if (row.half_close)
    ::shutdown(sock.get(), SHUT_WR);

  std::string wire;
  bool closed = false;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!closed && std::chrono::steady_clock::now() < until) {
    pollfd p{sock.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buffer[16384];
    ssize_t n = ::recv(sock.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      closed = true;
    else if (n > 0)
      wire.append(buffer, static_cast<std::size_t>(n));
  }
  sampling = false;
  sampler.join();
  out.rss_growth_kib = rss_peak - rss_before;
  if (!closed)
    out.trouble = "the server did not close the connection within 20 s";
  auto responses = parse_responses(wire, false);
  if (!responses) {
    out.trouble = responses.error().message + ": " + wire.substr(0, 300);
    return out;
  }
  for (const WireResponse &r : *responses) {
    out.answers.push_back({r.status, r.status >= 400 ? error_code_of(r) : ""});
    out.largest_answer = std::max(out.largest_answer, r.body.size());
  }
  return out;
}

class HostileInputTest : public ::testing::Test {
protected:
  void SetUp() override {
    api::ApiServerOptions options;
    // The test's own group writes, root or not.
    options.access = {::getegid(), std::nullopt, "xg-hostile-writers",
                      "xg-hostile-readers"};
    // Short waits, so that the stalling client costs a second, not five.
    options.limits.io_wait = 1000ms;
    options.limits.request_time = 15000ms;
    Status started = api_.start(options);
    ASSERT_TRUE(started.ok()) << started.error().message;
    auto added = api_.service().add(
        {{"192.0.2.1", "office", true, std::nullopt},
         {"2001:db8:a::/48", std::nullopt, true, api_.now + 86'400'000},
         {"198.51.100.0/24", "off", false, std::nullopt}},
        "seed");
    ASSERT_TRUE(added.ok()) << added.error().message;
    ids_ = {(*added)[0].view.entry.id, (*added)[2].view.entry.id};
  }

  TempDir dir_{"xdpgate-hostile-test"};
  InProcessApi api_{dir_.path()};
  std::vector<std::string> ids_;
};

TEST_F(HostileInputTest, EveryBadInputGetsItsStatusAndCodeAndChangesNothing) {
  const std::string before = api_.snapshot();
  ASSERT_FALSE(api_.kernel_mismatch()) << *api_.kernel_mismatch();
  const std::vector<Row> rows = hostile_rows(ids_[0], ids_[1]);
  std::printf("  %zu rows\n", rows.size());
  for (const Row &row : rows) {
    SCOPED_TRACE(row.what);
    Outcome got = run(api_.socket_path(), row);
    EXPECT_EQ(got.trouble, "");
    EXPECT_EQ(got.answers, row.answers);
    // Error messages quote the input only in part: a 1 MiB value must not
    // come back as a 1 MiB answer.
    // (An import with 100000 bad lines lists the first 1000: ~100 KiB.)
    EXPECT_LT(got.largest_answer, 512u * 1024);
    // Bodies over the limit are skipped, not held; under sanitizers and
    // with the sampler's granularity, 32 MiB is a loose bound that a held
    // 100 MB body still breaks.
    if (row.filler_times > 0 &&
        row.wire.find("Content-Length") != std::string::npos) {
      EXPECT_LT(got.rss_growth_kib, 32 * 1024);
    }
    if (row.filler_times > 0)
      std::printf("  %s: peak RSS growth %ld KiB\n", row.what.c_str(),
                  got.rss_growth_kib);
    EXPECT_EQ(api_.snapshot(), before);
    std::optional<std::string> mismatch = api_.kernel_mismatch();
    EXPECT_FALSE(mismatch) << *mismatch;
  }
}

} // namespace
} // namespace xdpgate::test
