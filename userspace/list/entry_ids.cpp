// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/entry_ids.hpp"

#include <algorithm>
#include <random>
#include <sys/random.h>

namespace xdpgate {

std::vector<std::string> EntryIds::fresh(std::size_t n,
                                         const ListIndex &index) {
  std::vector<std::string> out(n);
  for (std::string &id : out)
    id = next();
  for (;;) {
    std::sort(out.begin(), out.end());
    bool clash = false;
    for (std::size_t k = 0; k < n; ++k)
      if ((k > 0 && out[k] == out[k - 1]) ||
          index.find(out[k]) != index.end()) {
        out[k] = next();
        clash = true;
      }
    if (!clash)
      return out;
  }
}

std::string EntryIds::next() {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "ip_";
  for (int i = 0; i < 10; ++i)
    id += kAlphabet[byte() % 36];
  return id;
}

unsigned char EntryIds::byte() {
  if (used_ == sizeof(pool_))
    refill();
  return pool_[used_++];
}

void EntryIds::refill() {
  if (getrandom(pool_, sizeof(pool_), 0) != sizeof(pool_)) {
    std::random_device fallback;
    for (unsigned char &b : pool_)
      b = static_cast<unsigned char>(fallback());
  }
  used_ = 0;
}

} // namespace xdpgate
