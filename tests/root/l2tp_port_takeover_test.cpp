// udp/1701 must stay ours while l2tpvpnd holds it: an unprivileged local user (nobody, in a child process) tries to
// bind the port beside the daemon's listener, opened by L2tpDriver::open as the daemon opens it, with
// SO_REUSEADDR, SO_REUSEPORT, both or neither, on the listener's own address, a more specific one, the wildcard
// and the IPv6 dual-stack wildcard. Every bind must fail, or the socket must receive nothing sent to the port
// (every datagram reaches our listener). Each test runs in a private network namespace (root).
#include <arpa/inet.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common/os/spawn.hpp"
#include "common/unique_fd.hpp"
#include "require.hpp"
#include "server/l2tp_driver.hpp"

namespace l2tpvpn {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

constexpr uint16_t kL2tpPort = 1701;

struct Attempt {
  std::string address;  // where the intruder binds
  bool reuse_address = false;
  bool reuse_port = false;
  std::string name() const {
    return address + (reuse_address ? " SO_REUSEADDR" : "") + (reuse_port ? " SO_REUSEPORT" : "") +
           (!reuse_address && !reuse_port ? " (no option)" : "");
  }
};

// What the intruder's bind gave: the errno (0: bound) and, when bound, its socket passed back to us.
struct Outcome {
  int error = 0;
  UniqueFd socket;
};

// Receives one descriptor and an int sent by send_outcome.
Outcome receive_outcome(int channel) {
  Outcome out;
  int error = -1;
  iovec iov{&error, sizeof error};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof error)) {
    ADD_FAILURE() << "no answer from the intruder process";
    out.error = -1;
    return out;
  }
  out.error = error;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      out.socket = UniqueFd(fd);
    }
  }
  return out;
}

// In the child: runs as `uid` (real, effective and saved), binds as the attempt says and sends the errno and, if
// bound, the socket back. Only async-signal-safe calls after fork.
[[noreturn]] void intrude(int channel, uid_t uid, gid_t gid, const Attempt& a) {
  if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) _exit(3);
  const bool v6 = a.address.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) _exit(4);
  const int one = 1, zero = 0;
  if (a.reuse_address) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (a.reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  int rc;
  if (v6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // dual stack: covers IPv4 too
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(kL2tpPort);
    ::inet_pton(AF_INET6, a.address.c_str(), &sa.sin6_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kL2tpPort);
    ::inet_pton(AF_INET, a.address.c_str(), &sa.sin_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  int error = rc == 0 ? 0 : errno;
  iovec iov{&error, sizeof error};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (rc == 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  _exit(::sendmsg(channel, &msg, 0) == static_cast<ssize_t>(sizeof error) ? 0 : 5);
}

l2tp::RandomFn seeded() {
  auto rng = std::make_shared<std::mt19937_64>(11);
  return [rng](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>((*rng)());
  };
}

uint64_t total(const l2tp::DropCounters& drops) {
  return std::accumulate(drops.begin(), drops.end(), uint64_t{0},
                         [](uint64_t sum, const auto& kv) { return sum + kv.second; });
}

class L2tpPortTakeover : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    L2TPVPN_REQUIRE(geteuid() == 0, "root (private network namespace, another user's process)");
    const passwd* nobody = ::getpwnam("nobody");
    L2TPVPN_REQUIRE(nobody != nullptr, "a user named nobody");
    uid_ = nobody->pw_uid;
    gid_ = nobody->pw_gid;
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    ASSERT_EQ(os::run_process({"ip", "link", "set", "lo", "up"}).exit_code, 0);
    cfg_.role = l2tp::Role::kLns;
    endpoint_ = std::make_unique<l2tp::Endpoint>(cfg_, seeded());
    driver_ = std::make_unique<L2tpDriver>(io_, *endpoint_, [](l2tp::Action&) {});
    auto opened = driver_->open(udp::endpoint(asio::ip::make_address(GetParam()), kL2tpPort));
    ASSERT_TRUE(opened) << opened.error();
    driver_->start();
  }

  Outcome attempt(const Attempt& a) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd ours(pair[0]), theirs(pair[1]);
    const pid_t pid = ::fork();
    if (pid == 0) intrude(theirs.get(), uid_, gid_, a);
    theirs.reset();
    Outcome out = receive_outcome(ours.get());
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << a.name() << ": intruder status " << status;
    return out;
  }

  // Sends `count` one-byte datagrams (not L2TP: the endpoint drops and counts each) to the listener's port at
  // 127.0.0.1 and runs the event loop until the endpoint has counted them all, or for at most two seconds.
  // Returns how many reached the listener.
  uint64_t send_to_port(int count) {
    const uint64_t before = total(endpoint_->drops());
    UniqueFd tx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kL2tpPort);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < count; ++i)
      EXPECT_EQ(::sendto(tx.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (total(endpoint_->drops()) - before < static_cast<uint64_t>(count) &&
           std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    return total(endpoint_->drops()) - before;
  }

  uid_t uid_ = 0;
  gid_t gid_ = 0;
  asio::io_context io_;
  l2tp::L2tpConfig cfg_;
  std::unique_ptr<l2tp::Endpoint> endpoint_;
  std::unique_ptr<L2tpDriver> driver_;
};

TEST_P(L2tpPortTakeover, AnotherUserCannotBindOrReceiveOnTheL2tpPort) {
  // The listener's own address, a more specific one (for the wildcard listener) or the wildcard (for the
  // specific one), and IPv6's dual-stack wildcard, each with every combination of the two options.
  const std::vector<std::string> addresses = {"127.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1"};
  int bound = 0;
  for (const auto& address : addresses) {
    for (int options = 0; options < 4; ++options) {
      const Attempt a{address, (options & 1) != 0, (options & 2) != 0};
      Outcome out = attempt(a);
      if (out.error != 0) {
        EXPECT_EQ(out.error, EADDRINUSE) << a.name() << ": " << std::strerror(out.error);
        continue;
      }
      ++bound;
      ASSERT_TRUE(out.socket) << a.name() << ": bound, but the socket did not come back";
      // Bound: then it must not get anything sent to the port while our listener is there.
      constexpr int kDatagrams = 16;
      EXPECT_EQ(send_to_port(kDatagrams), static_cast<uint64_t>(kDatagrams))
          << a.name() << ": bound beside our listener, which then missed datagrams";
      char byte;
      EXPECT_EQ(::recv(out.socket.get(), &byte, 1, MSG_DONTWAIT), -1)
          << a.name() << ": another user received a datagram sent to udp/1701";
    }
  }
  // Our listener still gets everything, after all those attempts.
  EXPECT_EQ(send_to_port(4), 4u);
  std::printf("listener on %s: %d of %zu binds by another user succeeded\n", GetParam(), bound,
              addresses.size() * 4);
}

INSTANTIATE_TEST_SUITE_P(Listeners, L2tpPortTakeover, ::testing::Values("0.0.0.0", "127.0.0.1"),
                         [](const auto& p) { return std::string(p.param)[0] == '0' ? "Wildcard" : "Loopback"; });

}  // namespace
}  // namespace l2tpvpn
