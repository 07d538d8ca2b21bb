// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `check` answers what the kernel does (SPEC §3): a ListService over the
// real Kernel, with nested entries, a disabled one and exempt sources, in
// each mode; for every probed address, check's verdict is the verdict the
// loaded XDP program counts for a TCP SYN from it to a protected port
// (BPF_PROG_TEST_RUN), and check's `allowed` is whether it passes.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "datapath/kernel.hpp"
#include "list/list_service.hpp"
#include "model/verdicts.hpp"
#include "store/sqlite_store.hpp"
#include "support/frame.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

constexpr std::uint16_t kProtectedPort = 22;

class CheckVerdictTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
    const std::string id = std::to_string(::getpid());
    dir_ = std::filesystem::temp_directory_path() / ("xdpgate-check-" + id);
    std::filesystem::remove_all(dir_);
    DataPathOptions options;
    options.capacity = 1024;
    options.pin_dir = "/sys/fs/bpf/xg-check-" + id;
    pins_ = *options.pin_dir;
    FilterSettings settings;
    settings.exempt_tcp_ports = {10943};
    settings.exempt_sources = prefixes({"198.51.100.0/28", "2001:db8:e::/48"});
    kernel_ = std::make_unique<Kernel>(load_data_path(options), settings);
    auto store = SqliteStore::open(dir_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto opened = ListService::open(
        std::make_unique<SqliteStore>(std::move(store.value())), *kernel_,
        [] { return EpochMs{1'763'880'000'000}; });
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    service_ = std::move(opened.value());
  }

  void TearDown() override {
    service_.reset();
    kernel_.reset();
    std::filesystem::remove_all(pins_);
    std::filesystem::remove_all(dir_);
  }

  // check's answer and the program's verdict for one address, as text.
  void expect_same(const std::string &text) {
    SCOPED_TRACE(text);
    const IpPrefix address = *IpPrefix::parse_address(text);
    const CheckResult checked = service_->check(address);
    Frame frame =
        address.family == Family::V4 ? Frame::ipv4(text) : Frame::ipv6(text);
    const Outcome ran =
        run_frame(kernel_->data_path(), frame.tcp(kProtectedPort).bytes());
    EXPECT_EQ(kVerdictNames[checked.verdict], verdict_name(ran.verdict));
    EXPECT_EQ(checked.allowed, ran.action == XDP_PASS);
  }

  void expect_all_same() {
    for (const char *a :
         {"192.0.2.1", "192.0.2.200", "192.0.2.130", "192.0.3.1",
          "198.51.100.5", "198.51.100.16", "203.0.113.9", "10.0.0.1",
          "2001:db8:1::1", "2001:db8:1:2::1", "2001:db8:2::1", "2001:db8:e::9",
          "2001:db8:f::1", "2001:db9::1"})
      expect_same(a);
  }

  std::filesystem::path dir_, pins_;
  std::unique_ptr<Kernel> kernel_;
  std::unique_ptr<ListService> service_;
};

TEST_F(CheckVerdictTest, CheckAnswersWhatTheProgramDoesInEveryMode) {
  auto added = service_->add({{"192.0.2.0/24", std::nullopt, true, {}},
                              {"192.0.2.128/25", std::nullopt, false, {}},
                              {"198.51.100.0/24", std::nullopt, true, {}},
                              {"2001:db8:1::/48", std::nullopt, true, {}},
                              {"2001:db8:1:2::/64", std::nullopt, true, {}}},
                             "test");
  ASSERT_TRUE(added.ok()) << added.error().message;
  {
    SCOPED_TRACE("off");
    expect_all_same();
  }
  for (Mode mode : {Mode::Monitor, Mode::Enforce}) {
    SCOPED_TRACE(std::string(to_string(mode)));
    ActivateRequest request;
    request.mode = mode;
    auto activated = service_->activate(request, "test");
    ASSERT_TRUE(activated.ok()) << activated.error().message;
    expect_all_same();
    ASSERT_TRUE(service_->deactivate("test").ok());
  }
}

} // namespace
} // namespace xdpgate::test
