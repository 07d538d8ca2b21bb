// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Entry ids are random, so a dry run's new entries and the real call's get
// different ones: answers are compared with every id not in `known` (the
// ids listed before the call) read as "new".
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace xdpgate::test {

inline nlohmann::json without_new_ids(nlohmann::json answer,
                                      const std::set<std::string> &known) {
  if (answer.is_object()) {
    for (auto &[key, value] : answer.items())
      if (key == "id" && value.is_string() &&
          !known.count(value.get<std::string>()))
        value = "new";
      else
        value = without_new_ids(value, known);
  } else if (answer.is_array()) {
    for (nlohmann::json &item : answer)
      item = without_new_ids(item, known);
  }
  return answer;
}

} // namespace xdpgate::test
