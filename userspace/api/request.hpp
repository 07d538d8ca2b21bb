// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Reading a request strictly: media types (415), JSON bodies (400
// invalid_json with the byte position; duplicate keys and nesting deeper than
// kMaxJsonDepth are refused), object fields (400 invalid_field for unknown
// fields and wrong types) and query parameters (400 invalid_parameter for
// unknown names and bad values). Errors name the offending field.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http_message.hpp"
#include "common/result.hpp"

namespace xdpgate::api {

inline constexpr std::size_t kMaxJsonDepth = 32;

// What a route's body is (docs/API.md): JSON, or CSV for /import.
enum class BodyType { Json, Csv };

// 415 unless the request's Content-Type is the media type of `type`:
// application/json, or text/csv or text/plain (parameters such as charset
// allowed, case-insensitive). Asked of every request that carries a body,
// before the body is read.
Status body_media_type(const Request &req, BodyType type);

Result<nlohmann::json> parse_json(std::string_view text);

// The JSON body (its media type was checked before it was read), or nullopt
// when there is none and none is `required`.
Result<std::optional<nlohmann::json>> json_body(const Request &req,
                                                bool required);

// For routes that take no body: none, or an empty JSON object (what the CLI
// sends); anything else is refused as for any JSON body with no fields.
Status no_body(const Request &req);

// Refuses query parameters outside `names`, and repeated ones.
Status only_query(const Request &req,
                  const std::vector<std::string_view> &names);
// true/false/1/0; absent: false.
Result<bool> query_flag(const Request &req, const std::string &name);
// A decimal integer in [min, max]; absent: `fallback`.
Result<std::int64_t> query_int(const Request &req, const std::string &name,
                               std::int64_t fallback, std::int64_t min,
                               std::int64_t max);

Error invalid_field(const std::string &field, const std::string &why);

// The members of one JSON object, read with their expected types. Field
// names in errors carry `prefix`, e.g. "[3].ip_range" for an array element.
class Fields {
public:
  static Result<Fields> of(const nlohmann::json &value,
                           std::initializer_list<std::string_view> known,
                           std::string prefix = "");

  bool has(const char *name) const;
  Result<std::string> string(const char *name) const;
  Result<std::optional<std::string>> nullable_string(const char *name) const;
  Result<bool> boolean(const char *name) const;
  Result<std::int64_t> integer(const char *name) const;
  Result<std::optional<std::int64_t>> nullable_integer(const char *name) const;

  std::string field(const char *name) const { return prefix_ + name; }

private:
  Fields(const nlohmann::json &object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}
  // The member, or an error when it is missing.
  Result<const nlohmann::json *> member(const char *name) const;

  const nlohmann::json &object_;
  std::string prefix_;
};

} // namespace xdpgate::api
