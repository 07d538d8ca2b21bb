// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A pin directory belongs to the daemon of one state directory (SPEC §1):
// PinOwner on a real bpffs directory, without a daemon. A start on pins of
// another state directory, or beside a running daemon, is refused and
// changes nothing; pins with no owner record (an older xdpgated's) are
// adopted; --uninstall is let through for the owner only, and never while
// the owner runs.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "common/fd.hpp"
#include "datapath/pin_owner.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

namespace fs = std::filesystem;

class PinOwnerTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
    const std::string id = std::to_string(getpid());
    pins_ = "/sys/fs/bpf/xdpgate-gtest-owner-" + id;
    states_ = fs::temp_directory_path() / ("xdpgate-gtest-owner-" + id);
    fs::remove_all(pins_);
    fs::remove_all(states_);
    fs::create_directories(a());
    fs::create_directories(b());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(pins_, ec);
    fs::remove_all(states_, ec);
  }

  fs::path a() const { return states_ / "a"; }
  fs::path b() const { return states_ / "b"; }

  // A one-entry array of `value_size` pinned at `path`: a map of an older
  // xdpgated's, or something that is not an owner record.
  static void pin_array(const fs::path &path, __u32 value_size) {
    fs::create_directories(path.parent_path());
    Fd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "xg_test", sizeof(__u32),
                          value_size, 1, nullptr));
    ASSERT_TRUE(map.valid());
    ASSERT_EQ(bpf_obj_pin(map.get(), path.c_str()), 0);
  }

  // Path -> map id of everything pinned: equal before and after means
  // nothing was created, removed or replaced.
  std::map<std::string, __u32> pinned() const {
    std::map<std::string, __u32> ids;
    std::error_code ec;
    for (const auto &entry : fs::recursive_directory_iterator(pins_, ec)) {
      if (entry.is_directory())
        continue;
      Fd fd(bpf_obj_get(entry.path().c_str()));
      bpf_map_info info{};
      __u32 length = sizeof(info);
      EXPECT_EQ(bpf_obj_get_info_by_fd(fd.get(), &info, &length), 0);
      ids[entry.path().string()] = info.id;
    }
    return ids;
  }

  fs::path pins_, states_;
};

bool says(const Error &error, const std::string &text) {
  return error.message.find(text) != std::string::npos;
}

TEST_F(PinOwnerTest, AMissingDirectoryIsCreatedAndRecordedForItsStateDir) {
  auto owner = PinOwner::claim(pins_, a());
  ASSERT_TRUE(owner) << owner.error().message;
  EXPECT_FALSE(owner->adopted());
  EXPECT_TRUE(fs::exists(pins_ / "owner"));
}

TEST_F(PinOwnerTest, TheSameStateDirClaimsItAgainAfterARestart) {
  ASSERT_TRUE(PinOwner::claim(pins_, a()));
  const auto before = pinned();
  auto again = PinOwner::claim(pins_, a());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->adopted());
  EXPECT_EQ(pinned(), before); // the record is the first one, not rewritten
}

TEST_F(PinOwnerTest, AnotherStateDirIsRefusedNamingBothAndChangingNothing) {
  ASSERT_TRUE(PinOwner::claim(pins_, a()));
  pin_array(pins_ / "allow_v4", 8);
  const auto before = pinned();
  auto other = PinOwner::claim(pins_, b());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PinDirOwned);
  EXPECT_TRUE(says(other.error(), "--bpf-pin-dir " + pins_.string()));
  EXPECT_TRUE(says(other.error(), a().string())) << other.error().message;
  EXPECT_TRUE(says(other.error(), b().string())) << other.error().message;
  EXPECT_TRUE(says(other.error(), "pin directory of its own"));
  EXPECT_EQ(pinned(), before);
}

TEST_F(PinOwnerTest, AnotherStateDirIsToldWhoOwnsThePinsWhileTheOwnerRuns) {
  auto running = PinOwner::claim(pins_, a());
  ASSERT_TRUE(running);
  auto other = PinOwner::claim(pins_, b());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PinDirOwned);
}

TEST_F(PinOwnerTest, ASecondDaemonOfTheSameStateDirIsRefusedWhileOneRuns) {
  auto running = PinOwner::claim(pins_, a());
  ASSERT_TRUE(running);
  auto second = PinOwner::claim(pins_, a());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::PinDirBusy);
  EXPECT_TRUE(says(second.error(), "--bpf-pin-dir " + pins_.string()));
}

// Two containers' /var/lib/xdpgate: the same name, another directory.
TEST_F(PinOwnerTest, ADirectoryOfTheSameNameIsAnotherOwner) {
  ASSERT_TRUE(PinOwner::claim(pins_, a()));
  // Renamed, not removed, so the new directory cannot get its inode.
  fs::rename(a(), states_ / "a-moved");
  fs::create_directories(a());
  auto other = PinOwner::claim(pins_, a());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PinDirOwned);
  // A renamed state directory is still the same daemon.
  EXPECT_TRUE(PinOwner::claim(pins_, states_ / "a-moved"));
}

TEST_F(PinOwnerTest, PinsWithoutAnOwnerRecordAreAdopted) {
  pin_array(pins_ / "allow_v4", 8);
  {
    auto owner = PinOwner::claim(pins_, a());
    ASSERT_TRUE(owner) << owner.error().message;
    EXPECT_TRUE(owner->adopted());
  }
  auto other = PinOwner::claim(pins_, b()); // they are a's now
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PinDirOwned);
}

TEST_F(PinOwnerTest, AnotherKindOfObjectAtTheOwnerPinIsRefused) {
  pin_array(pins_ / "owner", 8);
  const auto before = pinned();
  auto owner = PinOwner::claim(pins_, a());
  ASSERT_FALSE(owner);
  EXPECT_EQ(owner.error().code, ErrorCode::PinDirUnusable);
  EXPECT_TRUE(says(owner.error(), (pins_ / "owner").string()));
  EXPECT_EQ(pinned(), before);
}

TEST_F(PinOwnerTest, RemovalIsForTheOwnersStateDirOnly) {
  ASSERT_TRUE(PinOwner::claim(pins_, a()));
  auto other = PinOwner::for_removal(pins_, b());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PinDirOwned);
  EXPECT_TRUE(says(other.error(), "--bpf-pin-dir " + pins_.string()));
  EXPECT_TRUE(says(other.error(), "--state-dir " + b().string()));
  EXPECT_TRUE(says(other.error(), a().string()));
  EXPECT_TRUE(PinOwner::for_removal(pins_, a()));
}

TEST_F(PinOwnerTest, RemovalNamesAStateDirThatDoesNotExist) {
  ASSERT_TRUE(PinOwner::claim(pins_, a()));
  auto other = PinOwner::for_removal(pins_, states_ / "missing");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::PinDirOwned);
  EXPECT_TRUE(says(other.error(), (states_ / "missing").string() + " (No such"))
      << other.error().message;
}

TEST_F(PinOwnerTest, PinsWithoutAnOwnerRecordAreRemovableByAnyStateDir) {
  pin_array(pins_ / "allow_v4", 8);
  EXPECT_TRUE(PinOwner::for_removal(pins_, b()));
  EXPECT_FALSE(fs::exists(pins_ / "owner")); // removal records nothing
}

TEST_F(PinOwnerTest, RemovalIsRefusedWhileTheOwnerRuns) {
  auto running = PinOwner::claim(pins_, a());
  ASSERT_TRUE(running);
  auto removal = PinOwner::for_removal(pins_, a());
  ASSERT_FALSE(removal);
  EXPECT_EQ(removal.error().code, ErrorCode::PinDirBusy);
  EXPECT_TRUE(says(removal.error(), "Stop it first"));
}

} // namespace
} // namespace xdpgate::test
