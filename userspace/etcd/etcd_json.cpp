// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "etcd/etcd_json.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace xdpgate::etcd {
namespace {

using nlohmann::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> decoding_table() {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] =
        static_cast<std::int8_t>(i);
  return table;
}
constexpr auto kDecoding = decoding_table();

Error malformed(const std::string &what) {
  return Error{ErrorCode::StoreFailed,
               "etcd answered something xdpgated cannot read (" + what +
                   "): is the endpoint etcd 3.4 or newer?"};
}

// The gateway writes int64 as strings; accepts numbers too.
std::int64_t number(const json &object, const char *name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return 0;
  if (it->is_string())
    return std::stoll(it->get<std::string>());
  // Never a float: converting one out of range is undefined.
  if (!it->is_number_integer())
    throw std::invalid_argument(std::string(name) + " is not an integer");
  return it->get<std::int64_t>();
}

bool flag(const json &object, const char *name) {
  auto it = object.find(name);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::string bytes(const json &object, const char *name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return {};
  Result<std::string> decoded = base64_decode(it->get<std::string>());
  if (!decoded)
    throw std::invalid_argument(std::string(name) + " is not base64");
  return std::move(*decoded);
}

// An array field (none: empty); the gateway writes no other kind.
const json &array(const json &object, const char *name) {
  static const json kNone = json::array();
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return kNone;
  if (!it->is_array())
    throw std::invalid_argument(std::string(name) + " is not an array");
  return *it;
}

std::int64_t header_revision(const json &answer) {
  auto header = answer.find("header");
  return header == answer.end() ? 0 : number(*header, "revision");
}

KeyValue key_value(const json &kv) {
  if (!kv.is_object())
    throw std::invalid_argument("a key-value is not an object");
  return KeyValue{bytes(kv, "key"),
                  bytes(kv, "value"),
                  number(kv, "create_revision"),
                  number(kv, "mod_revision"),
                  number(kv, "version"),
                  number(kv, "lease")};
}

RangeResult range_result(const json &answer) {
  RangeResult result;
  result.revision = header_revision(answer);
  for (const json &kv : array(answer, "kvs"))
    result.kvs.push_back(key_value(kv));
  result.more = flag(answer, "more");
  result.count = number(answer, "count");
  return result;
}

// etcd's own errors; the compaction is the one a caller acts on.
Error gateway_error(const json &answer, int status) {
  std::string message = answer.value("message", answer.value("error", ""));
  if (message.find("required revision has been compacted") != std::string::npos)
    return Error{ErrorCode::StoreCompacted, "etcd: " + message};
  if (message.empty())
    message = "HTTP status " + std::to_string(status);
  return Error{ErrorCode::StoreFailed, "etcd refused the request: " + message};
}

// Parses `body` and hands the object to `read`, turning every way the
// answer can be malformed into one error.
template <typename T, typename F>
Result<T> read_answer(int status, std::string_view body, F &&read) {
  try {
    json answer = json::parse(body);
    if (!answer.is_object())
      return malformed("not a JSON object");
    if (answer.contains("error") || status != 200)
      return gateway_error(answer, status);
    return read(answer);
  } catch (const std::exception &e) {
    if (status != 200)
      return Error{ErrorCode::StoreFailed,
                   "etcd answered HTTP " + std::to_string(status) + ": " +
                       std::string(body.substr(0, 200))};
    return malformed(e.what());
  }
}

json range_json(const Range &range) {
  json out = {{"key", base64_encode(range.key)}};
  if (!range.range_end.empty())
    out["range_end"] = base64_encode(range.range_end);
  if (range.revision)
    out["revision"] = std::to_string(range.revision);
  if (range.limit)
    out["limit"] = std::to_string(range.limit);
  if (range.keys_only)
    out["keys_only"] = true;
  return out;
}

json operation_json(const Operation &operation) {
  if (const Put *put = std::get_if<Put>(&operation)) {
    json out = {{"key", base64_encode(put->key)},
                {"value", base64_encode(put->value)}};
    if (put->lease)
      out["lease"] = std::to_string(put->lease);
    return {{"request_put", out}};
  }
  if (const DeleteRange *del = std::get_if<DeleteRange>(&operation)) {
    json out = {{"key", base64_encode(del->key)}};
    if (!del->range_end.empty())
      out["range_end"] = base64_encode(del->range_end);
    return {{"request_delete_range", out}};
  }
  return {{"request_range", range_json(std::get<Range>(operation))}};
}

json compare_json(const Compare &compare) {
  static constexpr const char *kTargets[] = {"VERSION", "CREATE", "MOD",
                                             "VALUE"};
  static constexpr const char *kResults[] = {"EQUAL", "GREATER", "LESS",
                                             "NOT_EQUAL"};
  json out = {{"key", base64_encode(compare.key)},
              {"target", kTargets[static_cast<int>(compare.target)]},
              {"result", kResults[static_cast<int>(compare.result)]}};
  switch (compare.target) {
  case Compare::Target::Version:
    out["version"] = std::to_string(compare.number);
    break;
  case Compare::Target::Create:
    out["create_revision"] = std::to_string(compare.number);
    break;
  case Compare::Target::Mod:
    out["mod_revision"] = std::to_string(compare.number);
    break;
  case Compare::Target::Value:
    out["value"] = base64_encode(compare.value);
    break;
  }
  if (!compare.range_end.empty())
    out["range_end"] = base64_encode(compare.range_end);
  return out;
}

} // namespace

std::string prefix_end(const std::string &prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto &last = reinterpret_cast<unsigned char &>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  // Every byte 0xff (or empty): to the end of the key space.
  return std::string(1, '\0');
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2)
      v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  const auto invalid = [] {
    return Error{ErrorCode::StoreFailed, "not base64"};
  };
  if (text.size() % 4)
    return invalid();
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t padding = !last                ? 0
                                : text[i + 3] != '=' ? 0
                                : text[i + 2] != '=' ? 1
                                                     : 2;
    unsigned v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      if (j >= 4 - padding) {
        v <<= 6;
        continue;
      }
      const std::int8_t d = kDecoding[static_cast<unsigned char>(text[i + j])];
      if (d < 0)
        return invalid();
      v = v << 6 | static_cast<unsigned>(d);
    }
    // Bits past the last byte are zero as the gateway writes them: one
    // text per value, so what decodes encodes back the same.
    if ((padding == 1 && (v & 0xff)) || (padding == 2 && (v & 0xffff)))
      return invalid();
    out += static_cast<char>(v >> 16);
    if (padding < 2)
      out += static_cast<char>((v >> 8) & 0xff);
    if (padding < 1)
      out += static_cast<char>(v & 0xff);
  }
  return out;
}

std::string range_request(const Range &range) {
  return range_json(range).dump();
}

std::string txn_request(const Txn &txn) {
  json out = {{"compare", json::array()},
              {"success", json::array()},
              {"failure", json::array()}};
  for (const Compare &compare : txn.compare)
    out["compare"].push_back(compare_json(compare));
  for (const Operation &operation : txn.success)
    out["success"].push_back(operation_json(operation));
  for (const Operation &operation : txn.failure)
    out["failure"].push_back(operation_json(operation));
  return out.dump();
}

std::string watch_request(const std::string &key, const std::string &range_end,
                          std::int64_t start_revision) {
  json create = {{"key", base64_encode(key)}};
  if (!range_end.empty())
    create["range_end"] = base64_encode(range_end);
  if (start_revision)
    create["start_revision"] = std::to_string(start_revision);
  return json{{"create_request", create}}.dump();
}

std::string lease_grant_request(std::int64_t ttl_seconds) {
  return json{{"TTL", std::to_string(ttl_seconds)}}.dump();
}

std::string lease_id_request(std::int64_t lease) {
  return json{{"ID", std::to_string(lease)}}.dump();
}

std::string compaction_request(std::int64_t revision) {
  return json{{"revision", std::to_string(revision)}, {"physical", true}}
      .dump();
}

Result<RangeResult> parse_range(int status, std::string_view body) {
  return read_answer<RangeResult>(status, body, range_result);
}

Result<TxnResult> parse_txn(int status, std::string_view body) {
  return read_answer<TxnResult>(status, body, [](const json &answer) {
    TxnResult result;
    result.revision = header_revision(answer);
    result.succeeded = flag(answer, "succeeded");
    for (const json &response : array(answer, "responses"))
      if (auto range = response.find("response_range"); range != response.end())
        result.ranges.push_back(range_result(*range));
    return result;
  });
}

Result<std::int64_t> parse_header_revision(int status, std::string_view body) {
  return read_answer<std::int64_t>(
      status, body, [](const json &answer) { return header_revision(answer); });
}

Result<LeaseGrant> parse_lease_grant(int status, std::string_view body) {
  return read_answer<LeaseGrant>(status, body, [](const json &answer) {
    return LeaseGrant{number(answer, "ID"), number(answer, "TTL")};
  });
}

Result<std::int64_t> parse_lease_keep_alive(int status, std::string_view body) {
  return read_answer<std::int64_t>(status, body, [](const json &answer) {
    // A stream of one message: {"result": {...}}.
    auto result = answer.find("result");
    return result == answer.end() ? 0 : number(*result, "TTL");
  });
}

Result<WatchMessage> parse_watch_line(std::string_view line) {
  return read_answer<WatchMessage>(
      200, line, [](const json &answer) -> Result<WatchMessage> {
        auto result = answer.find("result");
        if (result == answer.end())
          return malformed("a watch message without a result");
        WatchMessage message;
        message.revision = header_revision(*result);
        message.created = flag(*result, "created");
        message.canceled = flag(*result, "canceled");
        message.compact_revision = number(*result, "compact_revision");
        message.cancel_reason = result->value("cancel_reason", "");
        for (const json &event : array(*result, "events"))
          message.events.push_back(Event{event.value("type", "PUT") == "DELETE"
                                             ? Event::Type::Delete
                                             : Event::Type::Put,
                                         key_value(event.at("kv"))});
        return message;
      });
}

} // namespace xdpgate::etcd
