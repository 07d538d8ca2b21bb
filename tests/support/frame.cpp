// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "support/frame.hpp"

#include <arpa/inet.h>
#include <stdexcept>

namespace xdpgate::test {

namespace {

void put16(std::vector<std::uint8_t> &out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

void parse_address(int family, const std::string &text, std::uint8_t *out) {
  if (inet_pton(family, text.c_str(), out) != 1)
    throw std::invalid_argument("test frame: bad address " + text);
}

constexpr std::uint8_t kFragmentHeader = 44;

} // namespace

Frame Frame::ipv4(const std::string &source, const std::string &dest) {
  Frame f;
  f.ethertype_ = 0x0800;
  parse_address(AF_INET, source, f.source_);
  parse_address(AF_INET, dest, f.dest_);
  return f;
}

Frame Frame::ipv6(const std::string &source, const std::string &dest) {
  Frame f;
  f.is_ipv6_ = true;
  f.ethertype_ = 0x86DD;
  parse_address(AF_INET6, source, f.source_);
  parse_address(AF_INET6, dest, f.dest_);
  return f;
}

Frame Frame::ethertype(std::uint16_t type) {
  Frame f;
  f.is_ip_ = false;
  f.ethertype_ = type;
  f.payload_ = 46;
  return f;
}

Frame &Frame::vlan(std::uint16_t id, std::uint16_t tpid) {
  tags_.emplace_back(tpid, id);
  return *this;
}

Frame &Frame::tcp(std::uint16_t dest_port, std::uint16_t source_port) {
  protocol_ = 6;
  dest_port_ = dest_port;
  source_port_ = source_port;
  return *this;
}

Frame &Frame::udp(std::uint16_t dest_port, std::uint16_t source_port) {
  protocol_ = 17;
  dest_port_ = dest_port;
  source_port_ = source_port;
  return *this;
}

Frame &Frame::icmp(std::uint8_t type) {
  protocol_ = 1;
  icmp_type_ = type;
  return *this;
}

Frame &Frame::echo_id(std::uint16_t id) {
  echo_id_ = id;
  return *this;
}

Frame &Frame::icmpv6(std::uint8_t type) {
  protocol_ = 58;
  icmp_type_ = type;
  return *this;
}

Frame &Frame::l4_protocol(std::uint8_t protocol) {
  protocol_ = protocol;
  return *this;
}

Frame &Frame::ipv4_options(std::uint8_t bytes) {
  options_ = bytes;
  return *this;
}

Frame &Frame::fragment(std::uint16_t offset_units, bool more_fragments) {
  if (is_ipv6_) {
    extensions_.push_back({kFragmentHeader, 0, offset_units, more_fragments});
  } else {
    frag_offset_ = offset_units;
    more_fragments_ = more_fragments;
  }
  return *this;
}

Frame &Frame::ipv6_extension(std::uint8_t type, std::uint8_t extra_units) {
  extensions_.push_back({type, extra_units, 0, false});
  return *this;
}

Frame &Frame::ip_version(std::uint8_t version) {
  version_override_ = version;
  return *this;
}

Frame &Frame::ipv4_header_words(std::uint8_t ihl) {
  ihl_override_ = ihl;
  return *this;
}

Frame &Frame::payload(std::size_t bytes) {
  payload_ = bytes;
  return *this;
}

Frame &Frame::drop_tail(std::size_t bytes) {
  drop_tail_ = bytes;
  return *this;
}

std::vector<std::uint8_t> Frame::bytes() const {
  std::vector<std::uint8_t> out = build();
  out.resize(out.size() > drop_tail_ ? out.size() - drop_tail_ : 0);
  return out;
}

std::vector<std::uint8_t> Frame::build() const {
  std::vector<std::uint8_t> out = {0x02, 0, 0, 0, 0, 0x01,  // destination MAC
                                   0x02, 0, 0, 0, 0, 0x02}; // source MAC
  for (auto [tpid, id] : tags_) {
    put16(out, tpid);
    put16(out, id);
  }
  put16(out, ethertype_);
  if (!is_ip_) {
    out.insert(out.end(), payload_, 0xAB);
    return out;
  }

  std::vector<std::uint8_t> l4;
  bool first_fragment = frag_offset_ == 0;
  for (const Extension &e : extensions_)
    if (e.type == kFragmentHeader && e.frag_offset != 0)
      first_fragment = false;
  if (protocol_ == 6 || protocol_ == 17) {
    if (first_fragment) {
      put16(l4, source_port_);
      put16(l4, dest_port_);
      if (protocol_ == 6) {
        l4.insert(l4.end(), 8, 0);         // sequence, acknowledgement
        l4.insert(l4.end(), {0x50, 0x02}); // data offset 5, SYN
        l4.insert(l4.end(), 6, 0);         // window, checksum, urgent
      } else {
        put16(l4, static_cast<std::uint16_t>(8 + payload_));
        put16(l4, 0);
      }
    }
  } else if (protocol_ == 1 || protocol_ == 58) {
    if (first_fragment)
      l4.insert(l4.end(),
                {icmp_type_, 0, 0, 0, static_cast<std::uint8_t>(echo_id_ >> 8),
                 static_cast<std::uint8_t>(echo_id_), 0, 0});
  }
  l4.insert(l4.end(), payload_, 0xCD);

  if (!is_ipv6_) {
    std::uint8_t ihl = ihl_override_ ? ihl_override_ : 5 + options_ / 4;
    std::uint8_t version = version_override_ ? version_override_ : 4;
    std::size_t total = 20 + options_ + l4.size();
    out.push_back(static_cast<std::uint8_t>(version << 4 | (ihl & 0x0F)));
    out.push_back(0);
    put16(out, static_cast<std::uint16_t>(total));
    put16(out, 0x1234);
    put16(out, static_cast<std::uint16_t>((more_fragments_ ? 0x2000 : 0) |
                                          (frag_offset_ & 0x1FFF)));
    out.push_back(64);
    out.push_back(protocol_);
    put16(out, 0);
    out.insert(out.end(), source_, source_ + 4);
    out.insert(out.end(), dest_, dest_ + 4);
    out.insert(out.end(), options_, 0x01); // NOP options
    out.insert(out.end(), l4.begin(), l4.end());
    return out;
  }

  std::vector<std::uint8_t> chain;
  for (std::size_t i = 0; i < extensions_.size(); ++i) {
    const Extension &e = extensions_[i];
    std::uint8_t next =
        i + 1 < extensions_.size() ? extensions_[i + 1].type : protocol_;
    chain.push_back(next);
    if (e.type == kFragmentHeader) {
      chain.push_back(0);
      put16(chain,
            static_cast<std::uint16_t>(e.frag_offset << 3 | (e.more ? 1 : 0)));
      chain.insert(chain.end(), {0, 0, 0, 1}); // identification
    } else {
      chain.push_back(e.extra_units);
      chain.insert(chain.end(), 6 + 8 * e.extra_units, 0); // Pad1/PadN
    }
  }
  std::uint8_t version = version_override_ ? version_override_ : 6;
  out.insert(out.end(), {static_cast<std::uint8_t>(version << 4), 0, 0, 0});
  put16(out, static_cast<std::uint16_t>(chain.size() + l4.size()));
  out.push_back(extensions_.empty() ? protocol_ : extensions_.front().type);
  out.push_back(64);
  out.insert(out.end(), source_, source_ + 16);
  out.insert(out.end(), dest_, dest_ + 16);
  out.insert(out.end(), chain.begin(), chain.end());
  out.insert(out.end(), l4.begin(), l4.end());
  return out;
}

} // namespace xdpgate::test
