// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/http_message.hpp"

#include <algorithm>
#include <cctype>

namespace xdpgate::api {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string decoded(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_digit(text[i + 1]), low = hex_digit(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && c == '+' ? ' ' : c;
  }
  return out;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

void Headers::add(std::string name, std::string value) {
  items_.push_back({std::move(name), std::move(value)});
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Header &h : items_)
    if (iequals(h.name, name))
      return h.value;
  return std::nullopt;
}

std::size_t Headers::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(),
                    [&](const Header &h) { return iequals(h.name, name); }));
}

std::optional<std::string_view> Request::param(std::string_view name) const {
  for (const QueryParameter &p : query)
    if (p.name == name)
      return p.value;
  return std::nullopt;
}

void split_target(std::string_view target, std::string &path,
                  std::vector<QueryParameter> &query) {
  const std::size_t mark = target.find('?');
  path = decoded(target.substr(0, mark), false);
  query.clear();
  if (mark == std::string_view::npos)
    return;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
    if (pair.empty())
      continue;
    const std::size_t equals = pair.find('=');
    std::string_view value =
        equals == std::string_view::npos ? "" : pair.substr(equals + 1);
    query.push_back(
        {decoded(pair.substr(0, equals), true), decoded(value, true)});
  }
}

} // namespace xdpgate::api
