// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/entry_ids.hpp"

#include <algorithm>
#include <random>
#include <sys/random.h>

namespace xdpgate {

namespace {

constexpr int kDigits = 10;

// "ip_" and the number's kDigits base36 digits, most significant first.
// The alphabet is in ASCII order, so the texts sort as the numbers do.
std::string text_of(std::uint64_t number) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "ip_";
  id.resize(3 + kDigits);
  for (int i = kDigits - 1; i >= 0; --i) {
    id[3 + i] = kAlphabet[number % 36];
    number /= 36;
  }
  return id;
}

} // namespace

std::vector<std::string> EntryIds::fresh(std::size_t n,
                                         const ListIndex &index) {
  // Sorted as numbers: a million strings took most of a second to sort.
  std::vector<std::uint64_t> drawn(n);
  for (std::uint64_t &number : drawn)
    number = draw();
  std::vector<std::string> out;
  out.reserve(n);
  for (;;) {
    std::sort(drawn.begin(), drawn.end());
    out.clear();
    bool clash = false;
    for (std::size_t k = 0; k < n; ++k) {
      std::string id = text_of(drawn[k]);
      if ((k > 0 && drawn[k] == drawn[k - 1]) ||
          index.find(id) != index.end()) {
        drawn[k] = draw();
        clash = true;
      }
      out.push_back(std::move(id));
    }
    if (!clash)
      return out;
  }
}

std::uint64_t EntryIds::draw() {
  std::uint64_t number = 0;
  for (int i = 0; i < kDigits; ++i)
    number = number * 36 + byte() % 36;
  return number;
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
