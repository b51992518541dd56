#include "server/link_stats.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/unique_fd.hpp"

namespace l2tpvpn {

namespace {

Unexpected<LinkStatsError> fail(std::string step, int error) {
  return unexpected(LinkStatsError{std::move(step), error});
}

// One RTM_NEWLINK message's attributes (after its ifinfomsg): the name and the 64-bit counters.
void read_link(ByteView attrs, LinkCounterMap& out) {
  std::string name;
  std::optional<LinkCounters> counters;
  while (attrs.size() >= sizeof(rtattr)) {
    rtattr a{};
    std::memcpy(&a, attrs.data(), sizeof a);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > attrs.size()) break;
    const ByteView payload = attrs.subspan(RTA_LENGTH(0), a.rta_len - RTA_LENGTH(0));
    if (a.rta_type == IFLA_IFNAME) {
      name.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
      name = name.substr(0, name.find('\0'));
    } else if (a.rta_type == IFLA_STATS64 && payload.size() >= sizeof(rtnl_link_stats64)) {
      rtnl_link_stats64 s{};
      std::memcpy(&s, payload.data(), sizeof s);
      counters = LinkCounters{s.rx_bytes, s.tx_bytes, s.rx_packets, s.tx_packets};
    }
    const size_t step = RTA_ALIGN(a.rta_len);
    if (step >= attrs.size()) break;
    attrs = attrs.subspan(step);
  }
  if (!name.empty() && counters) out[name] = *counters;
}

}  // namespace

std::string LinkStatsError::to_string() const {
  std::string out = "interface counters: " + step;
  if (error != 0) out += ": " + std::generic_category().message(error);
  return out;
}

Result<bool, LinkStatsError> parse_link_dump(ByteView bytes, LinkCounterMap& out) {
  while (bytes.size() >= sizeof(nlmsghdr)) {
    nlmsghdr h{};
    std::memcpy(&h, bytes.data(), sizeof h);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > bytes.size()) return fail("parse", 0);
    const ByteView body = bytes.subspan(NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN);
    if (h.nlmsg_type == NLMSG_DONE) return true;
    if (h.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr e{};
      if (body.size() >= sizeof e) std::memcpy(&e, body.data(), sizeof e);
      return fail("netlink error", -e.error);
    }
    if (h.nlmsg_type == RTM_NEWLINK && body.size() >= NLMSG_ALIGN(sizeof(ifinfomsg)))
      read_link(body.subspan(NLMSG_ALIGN(sizeof(ifinfomsg))), out);
    const size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= bytes.size()) break;
    bytes = bytes.subspan(step);
  }
  return false;
}

Result<LinkCounterMap, LinkStatsError> dump_link_counters() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return fail("socket", errno);
  struct {
    nlmsghdr header;
    ifinfomsg body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = RTM_GETLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.header.nlmsg_seq = 1;
  request.body.ifi_family = AF_UNSPEC;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail("send", errno);
  LinkCounterMap out;
  // The kernel fills each recv() with as many whole messages as fit; 32 KiB holds dozens of interfaces.
  std::array<uint8_t, 32768> buf;
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("recv", errno);
    }
    if (n == 0) return fail("recv", 0);
    auto done = parse_link_dump(ByteView(buf.data(), static_cast<size_t>(n)), out);
    if (!done) return unexpected(done.error());
    if (*done) return out;
  }
}

std::optional<LinkCounters> LinkStatsCache::get(Clock::time_point now, const std::string& ifname) {
  if (!taken_ || now - *taken_ >= max_age_) {
    ++dumps_;
    auto fresh = fetch_();
    taken_ = now;
    if (!fresh) {
      ++failures_;
      counters_.clear();
      return std::nullopt;
    }
    counters_ = std::move(*fresh);
  }
  auto it = counters_.find(ifname);
  if (it == counters_.end()) return std::nullopt;
  return it->second;
}

}  // namespace l2tpvpn
