#include "ppp/pty.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/bytes.hpp"
#include "ppp/hdlc.hpp"

namespace l2tpvpn::ppp {
namespace {

// Every octet value, twice, so 0x00..0x1F, 0x7D, 0x7E and 0x7F..0xFF all cross (the tty layer would otherwise
// eat ^C, ^D, ^S/^Q, turn \r into \n, echo ...).
Bytes all_octets() {
  Bytes b;
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 256; ++i) b.push_back(static_cast<uint8_t>(i));
  return b;
}

void write_all(int fd, ByteView data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    ASSERT_GT(n, 0) << std::strerror(errno);
    off += static_cast<size_t>(n);
  }
}

// Reads until `want` bytes arrived or 5 s passed.
Bytes read_exactly(int fd, size_t want) {
  Bytes got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    uint8_t buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) got.insert(got.end(), buf, buf + n);
  }
  return got;
}

// Nothing readable within `ms`.
bool quiet(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 0;
}

struct OpenPair {
  PtyPair pty;
  UniqueFd slave;
};

OpenPair open_both() {
  auto r = open_pty_pair();
  EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
  if (!r) return {};
  OpenPair p{std::move(*r), UniqueFd()};
  p.slave.reset(::open(p.pty.slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  EXPECT_TRUE(p.slave) << p.pty.slave_path << ": " << std::strerror(errno);
  return p;
}

TEST(Pty, MasterFlagsAndSlavePath) {
  auto r = open_pty_pair();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->slave_path.rfind("/dev/pts/", 0), 0u) << r->slave_path;
  int fl = ::fcntl(r->master.get(), F_GETFL);
  EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
  EXPECT_TRUE(fl & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(r->master.get(), F_GETFD) & FD_CLOEXEC);
  // Two pairs are two different terminals.
  auto r2 = open_pty_pair();
  ASSERT_TRUE(r2);
  EXPECT_NE(r->slave_path, r2->slave_path);
}

TEST(Pty, SlaveIsRawAfterReopen) {
  // open_pty_pair configured the slave and closed it; the settings must still be there for whoever opens it next.
  auto p = open_both();
  ASSERT_TRUE(p.slave);
  termios tio{};
  ASSERT_EQ(::tcgetattr(p.slave.get(), &tio), 0);
  EXPECT_EQ(tio.c_lflag & (ECHO | ECHONL | ICANON | ISIG | IEXTEN), 0u);
  EXPECT_EQ(tio.c_iflag & (IXON | IXOFF | ICRNL | INLCR | IGNCR | ISTRIP | BRKINT | PARMRK), 0u);
  EXPECT_EQ(tio.c_oflag & OPOST, 0u);
  EXPECT_EQ(tio.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
  EXPECT_EQ(tio.c_cflag & PARENB, 0u);
  EXPECT_EQ(tio.c_cc[VMIN], 1);
}

TEST(Pty, SlaveToMasterByteExact) {
  auto p = open_both();
  ASSERT_TRUE(p.slave);
  Bytes data = all_octets();
  write_all(p.slave.get(), data);
  EXPECT_EQ(read_exactly(p.pty.master.get(), data.size()), data);
  EXPECT_TRUE(quiet(p.pty.master.get(), 100));  // nothing extra (no CR/LF expansion)
}

TEST(Pty, MasterToSlaveByteExactWithoutEcho) {
  auto p = open_both();
  ASSERT_TRUE(p.slave);
  Bytes data = all_octets();
  write_all(p.pty.master.get(), data);
  EXPECT_EQ(read_exactly(p.slave.get(), data.size()), data);
  EXPECT_TRUE(quiet(p.pty.master.get(), 200)) << "the slave echoed input back to the master";
  EXPECT_TRUE(quiet(p.slave.get(), 50));
}

TEST(Pty, HdlcFramesCrossBothWays) {
  // The real use: encoded frames through the pty, decoded on the far side.
  auto p = open_both();
  ASSERT_TRUE(p.slave);
  Bytes frame = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x08, 0x7E, 0x7D, 0x11, 0x13, 0x03, 0x0D, 0x0A, 0x04};
  Bytes wire;
  encode_hdlc_frame(frame, 0, wire);  // ACCM 0: control octets cross the pty unescaped
  encode_hdlc_frame(frame, kDefaultAccm, wire);
  for (auto [from, to] : {std::pair{p.slave.get(), p.pty.master.get()}, std::pair{p.pty.master.get(), p.slave.get()}}) {
    write_all(from, wire);
    HdlcDecoder dec;
    auto frames = dec.feed(read_exactly(to, wire.size()));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0], frame);
    EXPECT_EQ(frames[1], frame);
  }
}

TEST(Pty, ErrorNamesTheCall) {
  PtyError e{"grantpt", EACCES};
  EXPECT_EQ(e.to_string(), std::string("grantpt: ") + std::strerror(EACCES));
}

}  // namespace
}  // namespace l2tpvpn::ppp
