// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// An allocator for the buffers that hold a whole allow list while it is
// written into the kernel: tens of MiB at a million ranges. On a VM with
// nested paging every fresh 4 KiB page costs about 12 µs to fault in (48 MiB
// took 144 ms on our CI VMs, 26 ms in 2 MiB pages), more than the writes the
// buffer serves. So a buffer of 2 MiB or more gets a mapping of its own,
// aligned to 2 MiB and advised to use transparent huge pages. The advice is
// honoured where the system's THP setting is "madvise" (Debian's default) or
// "always"; elsewhere the buffer is made of 4 KiB pages, as from malloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <sys/mman.h>
#include <vector>

namespace xdpgate {

// The size of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

template <class T> class HugePageAllocator {
public:
  using value_type = T;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U> &) noexcept {} // NOLINT

  T *allocate(std::size_t count) {
    std::size_t bytes = count * sizeof(T);
    if (bytes < kHugePageBytes)
      return std::allocator<T>{}.allocate(count);
    // Mapped a huge page larger, then trimmed to a 2 MiB-aligned start: the
    // kernel backs only aligned 2 MiB ranges with huge pages.
    std::size_t length = rounded(bytes);
    void *mapped =
        mmap(nullptr, length + kHugePageBytes, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED)
      throw std::bad_alloc();
    auto start = reinterpret_cast<std::uintptr_t>(mapped);
    auto aligned = (start + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
    if (aligned > start)
      munmap(mapped, aligned - start);
    if (std::size_t tail = start + kHugePageBytes - aligned; tail > 0)
      munmap(reinterpret_cast<void *>(aligned + length), tail);
    (void)madvise(reinterpret_cast<void *>(aligned), length, MADV_HUGEPAGE);
    return reinterpret_cast<T *>(aligned);
  }

  void deallocate(T *buffer, std::size_t count) noexcept {
    std::size_t bytes = count * sizeof(T);
    if (bytes < kHugePageBytes)
      std::allocator<T>{}.deallocate(buffer, count);
    else
      munmap(buffer, rounded(bytes));
  }

  friend bool operator==(const HugePageAllocator &, const HugePageAllocator &) {
    return true;
  }

private:
  static std::size_t rounded(std::size_t bytes) {
    return (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  }
};

// A vector that may hold a whole allow list.
template <class T> using ListVector = std::vector<T, HugePageAllocator<T>>;

} // namespace xdpgate
