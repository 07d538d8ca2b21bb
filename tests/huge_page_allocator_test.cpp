// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Buffers that may hold a whole allow list: one of 2 MiB or more starts on a
// 2 MiB boundary (the only memory the kernel backs with huge pages), and
// every buffer, large or small, holds what is written to it as it grows and
// shrinks.
#include <cstdint>
#include <gtest/gtest.h>

#include "common/huge_page_allocator.hpp"

namespace xdpgate::test {
namespace {

TEST(HugePageAllocator, ALargeBufferStartsOnAHugePageBoundary) {
  for (std::size_t bytes :
       {kHugePageBytes, kHugePageBytes + 1, 5 * kHugePageBytes + 4096}) {
    ListVector<std::uint8_t> buffer(bytes, 0xa5);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer.data()) % kHugePageBytes,
              0u)
        << bytes << " bytes";
    EXPECT_EQ(buffer.front(), 0xa5);
    EXPECT_EQ(buffer.back(), 0xa5);
  }
}

TEST(HugePageAllocator, BuffersKeepTheirContentsAsTheyGrowAndShrink) {
  ListVector<std::uint64_t> values;
  for (std::uint64_t i = 0; i < 1'000'000; ++i) // from 8 bytes to 8 MiB
    values.push_back(i * 3);
  for (std::uint64_t i = 0; i < values.size(); i += 997)
    ASSERT_EQ(values[i], i * 3) << "at " << i;
  values.resize(10);
  values.shrink_to_fit(); // back to the ordinary allocator
  EXPECT_EQ(values[9], 27u);
}

} // namespace
} // namespace xdpgate::test
