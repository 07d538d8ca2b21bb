// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/request.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <set>
#include <vector>

namespace xdpgate::api {

namespace {

// Input quoted back in a message is cut, so that a megabyte of key or
// token does not come back as a megabyte of answer.
constexpr std::size_t kMaxShown = 64;

std::string shown(std::string_view text) {
  if (text.size() <= kMaxShown)
    return std::string(text);
  return std::string(text.substr(0, kMaxShown)) + "...";
}

Error invalid_json(std::size_t byte, const std::string &why) {
  return Error{ErrorCode::InvalidJson, "the body is not valid JSON at byte " +
                                           std::to_string(byte) + ": " + why};
}

// nlohmann's DOM parser keeps a stack entry per level; refuse deep nesting
// before it can cost memory.
std::optional<Error> too_deep(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return invalid_json(i + 1, "nested deeper than " +
                                       std::to_string(kMaxJsonDepth) +
                                       " levels");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

Error invalid_parameter(const std::string &name, const std::string &why) {
  return Error{ErrorCode::InvalidParameter, name + ": " + why, name};
}

const char *type_name(const nlohmann::json &value) {
  return value.is_number_integer() ? "integer" : value.type_name();
}

} // namespace

Status body_media_type(const Request &req, BodyType type) {
  const bool json = type == BodyType::Json;
  const std::vector<std::string_view> accepted =
      json ? std::vector<std::string_view>{"application/json"}
           : std::vector<std::string_view>{"text/csv", "text/plain"};
  const std::string header(req.headers.get("Content-Type").value_or(""));
  const std::string_view media =
      trim_ows(std::string_view(header).substr(0, header.find(';')));
  if (std::any_of(accepted.begin(), accepted.end(),
                  [&](std::string_view t) { return iequals(media, t); }))
    return {};
  // The usual cause, hence the curl advice: curl -d sends a form
  // (application/x-www-form-urlencoded) unless given a Content-Type.
  return Error{ErrorCode::UnsupportedMediaType,
               (header.empty() ? std::string("the body has no Content-Type")
                               : "the body is " + shown(header)) +
                   "; this route takes " +
                   (json ? "application/json (with curl: -H 'Content-Type: "
                           "application/json')"
                         : "CSV as text/csv (with curl: -H 'Content-Type: "
                           "text/csv' --data-binary @FILE)")};
}

namespace {

// nlohmann keeps the last of duplicate keys; a body that says two things
// about one field is refused instead. Found by a pass of its own over the
// text: the parse callback that could see keys costs a scan of the parent
// container per value (nlohmann 3.x before 3.12), quadratic in a list of a
// million entries.
class DuplicateKeys final : public nlohmann::json_sax<nlohmann::json> {
public:
  std::optional<std::string> first; // the first key named twice

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override {
    open_objects_.emplace_back();
    return true;
  }
  bool key(string_t &key) override {
    if (!first && !open_objects_.back().insert(key).second)
      first = shown(key);
    return true;
  }
  bool end_object() override {
    open_objects_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  // The parse proper reports the error, with its position.
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &) override {
    return false;
  }

private:
  std::vector<std::set<std::string>> open_objects_;
};

} // namespace

Result<nlohmann::json> parse_json(std::string_view text) {
  if (auto deep = too_deep(text))
    return *deep;
  DuplicateKeys keys;
  nlohmann::json::sax_parse(text, &keys);
  // what() is "[json.exception.parse_error.101] parse error at …"; the
  // message may quote the last token read, which may be huge.
  auto why_of = [](const nlohmann::json::exception &e) {
    std::string why = e.what();
    if (auto at = why.find("] "); at != std::string::npos)
      why.erase(0, at + 2);
    constexpr std::size_t kMaxWhy = 200;
    if (why.size() > kMaxWhy)
      why = why.substr(0, kMaxWhy) + "...";
    return why;
  };
  try {
    nlohmann::json value = nlohmann::json::parse(text);
    if (keys.first)
      return Error{ErrorCode::InvalidJson,
                   "the body names the key \"" + *keys.first + "\" twice",
                   *keys.first};
    return value;
  } catch (const nlohmann::json::parse_error &e) {
    return invalid_json(e.byte, why_of(e));
  } catch (const nlohmann::json::exception &e) {
    // out_of_range 406: a number too large for a double. No position.
    return Error{ErrorCode::InvalidJson,
                 "the body is not valid JSON: " + why_of(e)};
  }
}

Result<std::optional<nlohmann::json>> json_body(const Request &req,
                                                bool required) {
  if (req.body.empty()) {
    if (required)
      return Error{ErrorCode::InvalidJson,
                   "the body is empty; a JSON value is needed"};
    return std::optional<nlohmann::json>();
  }
  Result<nlohmann::json> value = parse_json(req.body);
  if (!value)
    return value.error();
  return std::optional<nlohmann::json>(std::move(*value));
}

Status only_query(const Request &req,
                  const std::vector<std::string_view> &names) {
  std::set<std::string_view> seen;
  for (const QueryParameter &p : req.query) {
    if (std::find(names.begin(), names.end(), p.name) == names.end())
      return invalid_parameter(shown(p.name), "unknown query parameter");
    if (!seen.insert(p.name).second)
      return invalid_parameter(shown(p.name), "given more than once");
  }
  return {};
}

Status no_body(const Request &req) {
  Result<std::optional<nlohmann::json>> body = json_body(req, false);
  if (!body)
    return body.error();
  if (*body) {
    Result<Fields> f = Fields::of(**body, {});
    if (!f)
      return f.error();
  }
  return {};
}

Result<bool> query_flag(const Request &req, const std::string &name) {
  std::optional<std::string_view> value = req.param(name);
  if (!value)
    return false;
  if (*value == "true" || *value == "1")
    return true;
  if (*value == "false" || *value == "0")
    return false;
  return invalid_parameter(name, "must be true, false, 1 or 0");
}

Result<std::int64_t> query_int(const Request &req, const std::string &name,
                               std::int64_t fallback, std::int64_t min,
                               std::int64_t max) {
  std::optional<std::string_view> given = req.param(name);
  if (!given)
    return fallback;
  const std::string_view value = *given;
  std::int64_t n = 0;
  auto [end, err] =
      std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || err != std::errc() ||
      end != value.data() + value.size() || n < min || n > max)
    return invalid_parameter(name, "must be an integer from " +
                                       std::to_string(min) + " to " +
                                       std::to_string(max));
  return n;
}

Error invalid_field(const std::string &field, const std::string &why) {
  return Error{ErrorCode::InvalidField, field + ": " + why, field};
}

Result<Fields> Fields::of(const nlohmann::json &value,
                          std::initializer_list<std::string_view> known,
                          std::string prefix) {
  if (!value.is_object()) {
    std::string where =
        prefix.empty() ? "body" : prefix.substr(0, prefix.size() - 1);
    return invalid_field(where, std::string("expected an object, got ") +
                                    type_name(value));
  }
  for (const auto &[key, member] : value.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      return invalid_field(prefix + shown(key), "unknown field");
  return Fields(value, std::move(prefix));
}

bool Fields::has(const char *name) const { return object_.contains(name); }

Result<const nlohmann::json *> Fields::member(const char *name) const {
  auto it = object_.find(name);
  if (it == object_.end())
    return invalid_field(field(name), "is required");
  return &*it;
}

Result<std::string> Fields::string(const char *name) const {
  Result<const nlohmann::json *> m = member(name);
  if (!m)
    return m.error();
  if (!(*m)->is_string())
    return invalid_field(field(name), std::string("expected a string, got ") +
                                          type_name(**m));
  return (*m)->get<std::string>();
}

Result<std::optional<std::string>>
Fields::nullable_string(const char *name) const {
  Result<const nlohmann::json *> m = member(name);
  if (!m)
    return m.error();
  if ((*m)->is_null())
    return std::optional<std::string>();
  if (!(*m)->is_string())
    return invalid_field(field(name),
                         std::string("expected a string or null, got ") +
                             type_name(**m));
  return std::optional<std::string>((*m)->get<std::string>());
}

Result<bool> Fields::boolean(const char *name) const {
  Result<const nlohmann::json *> m = member(name);
  if (!m)
    return m.error();
  if (!(*m)->is_boolean())
    return invalid_field(field(name),
                         std::string("expected true or false, got ") +
                             type_name(**m));
  return (*m)->get<bool>();
}

Result<std::int64_t> Fields::integer(const char *name) const {
  Result<const nlohmann::json *> m = member(name);
  if (!m)
    return m.error();
  const nlohmann::json &v = **m;
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    return invalid_field(field(name), "is out of range");
  if (!v.is_number_integer())
    return invalid_field(field(name), std::string("expected an integer, got ") +
                                          type_name(v));
  return v.get<std::int64_t>();
}

Result<std::optional<std::int64_t>>
Fields::nullable_integer(const char *name) const {
  if (Result<const nlohmann::json *> m = member(name); m && (*m)->is_null())
    return std::optional<std::int64_t>();
  Result<std::int64_t> n = integer(name);
  if (!n)
    return n.error();
  return std::optional<std::int64_t>(*n);
}

} // namespace xdpgate::api
