// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Step 6 of SPEC §1: replies to flows this host opened pass, so activating
// never cuts the host's own outbound traffic. The egress recorder runs on a
// crafted outbound frame, then the XDP program judges the answer.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "support/frame.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

constexpr const char *kHost = "198.18.0.1";
constexpr const char *kRemote = "203.0.113.5";

void run_egress(const DataPath &path, const std::vector<std::uint8_t> &frame) {
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<__u32>(frame.size());
  opts.repeat = 1;
  ASSERT_EQ(bpf_prog_test_run_opts(path.egress_program_fd(), &opts), 0);
  EXPECT_EQ(opts.retval, 0u) << "the recorder never changes a packet's fate";
}

class ReplyTracking : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
    path_.emplace(load_data_path());
    DesiredState d;
    d.config.mode = Mode::Enforce;
    d.config.track_replies = true;
    ASSERT_TRUE(path_->sync(d));
  }
  std::optional<DataPath> path_;
};

TEST_F(ReplyTracking, AnswerToAnOutboundTcpConnectionPasses) {
  Frame syn = Frame::ipv4(kHost, kRemote).tcp(443, 40001);
  run_egress(*path_, syn.bytes());
  Outcome answer =
      run_frame(*path_, Frame::ipv4(kRemote, kHost).tcp(40001, 443).bytes());
  EXPECT_EQ(verdict_name(answer.verdict), "reply");
  EXPECT_EQ(answer.action, XDP_PASS);
}

TEST_F(ReplyTracking, OtherPortsOfTheSameRemoteStayDenied) {
  run_egress(*path_, Frame::ipv4(kHost, kRemote).tcp(443, 40002).bytes());
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).tcp(40003, 443).bytes())
          .verdict,
      XDPGATE_VERDICT_DROPPED);
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).tcp(40002, 80).bytes())
          .verdict,
      XDPGATE_VERDICT_DROPPED);
}

TEST_F(ReplyTracking, ServerAnswersDoNotOpenAFlow) {
  // A SYN-ACK is this host answering someone else's connection.
  Frame syn_ack = Frame::ipv4(kHost, kRemote).tcp(51000, 22);
  std::vector<std::uint8_t> bytes = syn_ack.bytes();
  bytes[14 + 20 + 13] = 0x12; // SYN|ACK
  run_egress(*path_, bytes);
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).tcp(22, 51000).bytes())
          .verdict,
      XDPGATE_VERDICT_DROPPED);
}

TEST_F(ReplyTracking, UdpRequestFromAnEphemeralPortLetsTheAnswerIn) {
  run_egress(*path_, Frame::ipv4(kHost, kRemote).udp(53, 45000).bytes());
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).udp(45000, 53).bytes())
          .verdict,
      XDPGATE_VERDICT_REPLY);
}

TEST_F(ReplyTracking, UdpFromAServicePortOpensNothing) {
  run_egress(*path_, Frame::ipv4(kHost, kRemote).udp(45001, 53).bytes());
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).udp(53, 45001).bytes())
          .verdict,
      XDPGATE_VERDICT_DROPPED);
}

TEST_F(ReplyTracking, Ipv6AnswerPasses) {
  run_egress(
      *path_,
      Frame::ipv6("2001:db8::1", "2001:db8:99::5").tcp(443, 40010).bytes());
  EXPECT_EQ(
      run_frame(
          *path_,
          Frame::ipv6("2001:db8:99::5", "2001:db8::1").tcp(40010, 443).bytes())
          .verdict,
      XDPGATE_VERDICT_REPLY);
}

// The host pings out: the echo reply carrying its request's identifier, from
// the address it pinged, passes; nothing else does.
TEST_F(ReplyTracking, AnEchoReplyToThisHostsPingPasses) {
  run_egress(*path_,
             Frame::ipv4(kHost, kRemote).icmp(8).echo_id(0x4242).bytes());
  Outcome reply = run_frame(
      *path_, Frame::ipv4(kRemote, kHost).icmp(0).echo_id(0x4242).bytes());
  EXPECT_EQ(verdict_name(reply.verdict), "reply");
  EXPECT_EQ(reply.action, XDP_PASS);
}

TEST_F(ReplyTracking, AnotherIdentifierRemoteOrTypeStaysDenied) {
  run_egress(*path_,
             Frame::ipv4(kHost, kRemote).icmp(8).echo_id(0x5151).bytes());
  auto verdict = [&](Frame frame) {
    return verdict_name(run_frame(*path_, frame.bytes()).verdict);
  };
  EXPECT_EQ(verdict(Frame::ipv4(kRemote, kHost).icmp(0).echo_id(0x5152)),
            "dropped");
  EXPECT_EQ(verdict(Frame::ipv4("203.0.113.6", kHost).icmp(0).echo_id(0x5151)),
            "dropped");
  // A request with the same identifier is the remote pinging us: no reply.
  EXPECT_EQ(verdict(Frame::ipv4(kRemote, kHost).icmp(8).echo_id(0x5151)),
            "dropped");
  // Other ICMP types carry no identifier there.
  EXPECT_EQ(verdict(Frame::ipv4(kRemote, kHost).icmp(3).echo_id(0x5151)),
            "dropped");
}

TEST_F(ReplyTracking, AnIcmpv6EchoReplyToThisHostsPingPasses) {
  const char *host = "2001:db8::1", *remote = "2001:db8:99::7";
  run_egress(*path_,
             Frame::ipv6(host, remote).icmpv6(128).echo_id(0x0707).bytes());
  EXPECT_EQ(
      verdict_name(
          run_frame(
              *path_,
              Frame::ipv6(remote, host).icmpv6(129).echo_id(0x0707).bytes())
              .verdict),
      "reply");
  EXPECT_EQ(
      verdict_name(
          run_frame(
              *path_,
              Frame::ipv6(remote, host).icmpv6(129).echo_id(0x0708).bytes())
              .verdict),
      "dropped");
}

TEST_F(ReplyTracking, NothingPassesAsAReplyWhenTrackingIsOff) {
  DesiredState d;
  d.config.mode = Mode::Enforce;
  ASSERT_TRUE(path_->sync(d));
  run_egress(*path_, Frame::ipv4(kHost, kRemote).tcp(443, 40020).bytes());
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).tcp(40020, 443).bytes())
          .verdict,
      XDPGATE_VERDICT_DROPPED);
  run_egress(*path_, Frame::ipv4(kHost, kRemote).icmp(8).echo_id(9).bytes());
  EXPECT_EQ(
      run_frame(*path_, Frame::ipv4(kRemote, kHost).icmp(0).echo_id(9).bytes())
          .verdict,
      XDPGATE_VERDICT_DROPPED);
}

} // namespace
} // namespace xdpgate::test
