// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A GoogleTest fixture around the loaded XDP program: each test gets the
// program with a small capacity (4096) and its maps pinned in a directory of
// its own, removed after the test. Where BPF cannot run, the test is skipped
// (see bpf_available).
#pragma once

#include <cstdint>
#include <filesystem>
#include <gtest/gtest.h>
#include <optional>
#include <string>

#include "common/fd.hpp"
#include "datapath/data_path.hpp"

namespace xdpgate::test {

// Enforcing, every denied packet sampled.
RuntimeConfig enforcing();

class LoadedProgramTest : public ::testing::Test {
protected:
  // Pins go under /sys/fs/bpf/<pin_prefix><pid>-<n>.
  explicit LoadedProgramTest(std::string pin_prefix)
      : pin_prefix_(std::move(pin_prefix)) {}

  void SetUp() override;
  void TearDown() override;

  // Applies `change` to the allow list, enforcing.
  Status apply(const AllowListChange &change);
  // Opens the pinned map `name` (a failed expectation if it is not there).
  Fd pinned(const char *name) const;
  // The id of the table the program reads now through the outer map
  // `outer_name` (0 if it cannot be read).
  std::uint32_t live_table(const char *outer_name) const;

  std::filesystem::path pins_;
  DataPathOptions options_;
  std::optional<DataPath> path_;

private:
  std::string pin_prefix_;
};

} // namespace xdpgate::test
