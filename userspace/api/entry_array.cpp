// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/entry_array.hpp"

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace xdpgate::api {

namespace {

// Every callback answers whether the body is still a plain entry array;
// the first false ends the parse.
class EntryArrayReader final : public nlohmann::json_sax<nlohmann::json> {
public:
  std::vector<NewEntry> entries;

  bool start_array(std::size_t) override {
    if (depth_ != Depth::Top)
      return false;
    depth_ = Depth::Array;
    return true;
  }
  bool end_array() override { return depth_ == Depth::Array; }
  bool start_object(std::size_t) override {
    if (depth_ != Depth::Array)
      return false;
    depth_ = Depth::Entry;
    given_ = 0;
    entries.emplace_back();
    return true;
  }
  bool end_object() override {
    depth_ = Depth::Array;
    return (given_ & bit(Field::IpRange)) != 0;
  }
  bool key(string_t &name) override {
    if (name == "ip_range")
      field_ = Field::IpRange;
    else if (name == "description")
      field_ = Field::Description;
    else if (name == "enabled")
      field_ = Field::Enabled;
    else if (name == "expires_at")
      field_ = Field::ExpiresAt;
    else
      return false;
    if ((given_ & bit(field_)) != 0)
      return false; // named twice
    given_ |= bit(field_);
    return true;
  }

  bool string(string_t &text) override {
    if (!in_entry())
      return false;
    if (field_ == Field::IpRange)
      entries.back().ip_range = std::move(text);
    else if (field_ == Field::Description)
      entries.back().description = std::move(text);
    else
      return false;
    return true;
  }
  bool null() override {
    if (!in_entry())
      return false;
    if (field_ == Field::Description)
      entries.back().description.reset();
    else if (field_ == Field::ExpiresAt)
      entries.back().expires_at.emplace(std::nullopt);
    else
      return false;
    return true;
  }
  bool boolean(bool value) override {
    if (!in_entry() || field_ != Field::Enabled)
      return false;
    entries.back().enabled = value;
    return true;
  }
  bool number_integer(number_integer_t value) override {
    return expiry(value > 0, static_cast<std::int64_t>(value));
  }
  bool number_unsigned(number_unsigned_t value) override {
    return expiry(value > 0 && value <= static_cast<std::uint64_t>(INT64_MAX),
                  static_cast<std::int64_t>(value));
  }
  bool number_float(number_float_t, const string_t &) override { return false; }
  bool binary(binary_t &) override { return false; }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &) override {
    return false;
  }

private:
  enum class Depth { Top, Array, Entry };
  enum class Field { IpRange, Description, Enabled, ExpiresAt };
  static unsigned bit(Field f) { return 1u << static_cast<unsigned>(f); }
  bool in_entry() const { return depth_ == Depth::Entry; }
  bool expiry(bool valid, std::int64_t at) {
    if (!in_entry() || field_ != Field::ExpiresAt || !valid)
      return false;
    entries.back().expires_at.emplace(at);
    return true;
  }

  Depth depth_ = Depth::Top;
  Field field_ = Field::IpRange; // the field whose value comes next
  unsigned given_ = 0;           // the current entry's fields, a bit each
};

} // namespace

std::optional<std::vector<NewEntry>> plain_entry_array(std::string_view text) {
  EntryArrayReader reader;
  if (!nlohmann::json::sax_parse(text, &reader))
    return std::nullopt;
  return std::move(reader.entries);
}

} // namespace xdpgate::api
