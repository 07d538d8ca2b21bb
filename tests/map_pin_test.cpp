// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Pins across an upgrade (SPEC §1): a pinned map the program's own would
// fit is re-used, contents and all; one it would not fit (another layout of
// the value, another size) is replaced, so the daemon still starts.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/fd.hpp"
#include "datapath/data_path.hpp"
#include "support/test_run.hpp"
#include "xdpgate/abi.h"

namespace xdpgate::test {
namespace {

std::uint32_t value_size_at(const std::filesystem::path &pin) {
  Fd fd(bpf_obj_get(pin.c_str()));
  EXPECT_TRUE(fd.valid()) << pin;
  bpf_map_info info{};
  __u32 length = sizeof info;
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd.get(), &info, &length), 0);
  return info.value_size;
}

std::uint32_t id_at(const std::filesystem::path &pin) {
  Fd fd(bpf_obj_get(pin.c_str()));
  bpf_map_info info{};
  __u32 length = sizeof info;
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd.get(), &info, &length), 0);
  return info.id;
}

class MapPinTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
    pins_ = "/sys/fs/bpf/xg-map-pin-" + std::to_string(::getpid());
    std::filesystem::remove_all(pins_);
    std::filesystem::create_directories(pins_);
    options_.capacity = 1024;
    options_.pin_dir = pins_;
  }
  void TearDown() override { std::filesystem::remove_all(pins_); }

  std::filesystem::path pins_;
  DataPathOptions options_;
};

TEST_F(MapPinTest, APinOfAnotherLayoutIsReplacedAndTheLoadGoesOn) {
  // What an xdpgated with a smaller runtime config would have left.
  Fd old(
      bpf_map_create(BPF_MAP_TYPE_ARRAY, "runtime_config", 4, 8, 1, nullptr));
  ASSERT_TRUE(old.valid());
  ASSERT_EQ(bpf_obj_pin(old.get(), (pins_ / "runtime_config").c_str()), 0);

  Result<DataPath> loaded = DataPath::load(options_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(value_size_at(pins_ / "runtime_config"), sizeof(xdpgate_config));
}

TEST_F(MapPinTest, APinThatFitsIsReusedAsItIs) {
  std::uint32_t first = 0;
  {
    Result<DataPath> loaded = DataPath::load(options_);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    first = id_at(pins_ / "runtime_config");
  }
  Result<DataPath> again = DataPath::load(options_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(id_at(pins_ / "runtime_config"), first);
}

} // namespace
} // namespace xdpgate::test
