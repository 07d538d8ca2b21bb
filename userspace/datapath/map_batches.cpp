// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/map_batches.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace xdpgate {

Status read_in_batches(
    int fd, std::size_t key_size, std::size_t value_size,
    const std::string &what,
    const std::function<void(const std::uint8_t *, const std::uint8_t *)> &row,
    bool *no_batches) {
  constexpr std::uint32_t kBatch = 1 << 14;
  std::vector<std::uint8_t> keys(kBatch * key_size);
  std::vector<std::uint8_t> values(kBatch * value_size);
  // The batch token: the next key of a trie, the next slot or bucket of an
  // array or a hash (32 bits). A buffer the size of either serves all.
  const std::size_t token_size = std::max(key_size, sizeof(std::uint32_t));
  std::vector<std::uint8_t> in(token_size), out(token_size);
  for (bool first = true;; first = false) {
    std::uint32_t got = kBatch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : in.data(), out.data(),
                                   keys.data(), values.data(), &got, &opts);
    if (err != 0 && first && no_batches &&
        (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
      *no_batches = true;
      return {};
    }
    // ENOENT marks the last batch, which may still carry elements.
    if (err != 0 && errno != ENOENT)
      return system_error(ErrorCode::KernelReadFailed,
                          "reading " + what + " failed");
    for (std::uint32_t k = 0; k < got; ++k)
      row(&keys[k * key_size], &values[k * value_size]);
    if (err != 0 || got == 0)
      return {};
    in = out;
  }
}

} // namespace xdpgate
