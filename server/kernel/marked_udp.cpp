#include "server/kernel/marked_udp.hpp"

#include <cerrno>
#include <cstring>

// glibc 2.36 (Debian 12) does not name it yet; the value is the kernel's (include/uapi/asm-generic/socket.h).
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif

namespace l2tpvpn::kernel {

Status<int> receive_marks(int fd) {
  const int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVMARK, &one, sizeof one) != 0) return unexpected(errno);
  return {};
}

Status<int> set_socket_mark(int fd, uint32_t mark) {
  if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) return unexpected(errno);
  return {};
}

Result<MarkedDatagram, int> receive_marked(int fd, std::span<uint8_t> buffer) {
  MarkedDatagram d;
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(uint32_t))];
  msghdr msg{};
  msg.msg_name = &d.from;
  msg.msg_namelen = sizeof d.from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return unexpected(errno);
  d.size = static_cast<size_t>(n);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_MARK && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t)))
      std::memcpy(&d.mark, CMSG_DATA(c), sizeof d.mark);
  }
  return d;
}

Status<int> send_marked(int fd, std::span<const uint8_t> bytes, const sockaddr* to, socklen_t to_len, uint32_t mark) {
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(uint32_t))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = to_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (mark != 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SO_MARK;
    c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
    std::memcpy(CMSG_DATA(c), &mark, sizeof mark);
  }
  if (::sendmsg(fd, &msg, MSG_DONTWAIT) < 0) return unexpected(errno);
  return {};
}

}  // namespace l2tpvpn::kernel
