// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "support/loaded_program.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include "support/test_run.hpp"

namespace xdpgate::test {

RuntimeConfig enforcing() {
  RuntimeConfig config;
  config.mode = Mode::Enforce;
  config.denied_sample_shift = 0;
  return config;
}

void LoadedProgramTest::SetUp() {
  std::string why;
  if (!bpf_available(&why))
    GTEST_SKIP() << why;
  static int counter = 0;
  pins_ = "/sys/fs/bpf/" + pin_prefix_ + std::to_string(::getpid()) + "-" +
          std::to_string(counter++);
  options_.capacity = 4096;
  options_.pin_dir = pins_;
  path_.emplace(load_data_path(options_));
}

void LoadedProgramTest::TearDown() {
  path_.reset();
  std::filesystem::remove_all(pins_);
}

Status LoadedProgramTest::apply(const AllowListChange &change) {
  return path_->apply(enforcing(), {}, change);
}

Fd LoadedProgramTest::pinned(const char *name) const {
  Fd fd(bpf_obj_get((pins_ / name).c_str()));
  EXPECT_TRUE(fd.valid()) << name;
  return fd;
}

std::uint32_t LoadedProgramTest::live_table(const char *outer_name) const {
  Fd outer = pinned(outer_name);
  std::uint32_t slot = 0, id = 0;
  EXPECT_EQ(bpf_map_lookup_elem(outer.get(), &slot, &id), 0) << outer_name;
  return id;
}

} // namespace xdpgate::test
