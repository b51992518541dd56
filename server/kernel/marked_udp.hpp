// UDP with the mark of the IPsec SA each datagram came through (Linux socket options, no protocol logic).
//
// charon gives every L2TP CHILD_SA a mark of its own and the kernel sets it on each packet that SA decrypts.
// SO_RCVMARK (Linux 5.19) hands it to recvmsg() per datagram; a reply sent with the same mark (an SO_MARK
// control message, or SO_MARK on a socket) matches that SA's outbound policy only, so it leaves through it.
// Clients behind one NAT can share address and port: the mark is what tells their datagrams apart.
//
// Setting a mark needs CAP_NET_ADMIN (or CAP_NET_RAW); reading it needs nothing.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <span>

#include "common/result.hpp"

namespace l2tpvpn::kernel {

// Asks for each datagram's mark with recvmsg(). Error: errno (ENOPROTOOPT on a kernel before 5.19).
Status<int> receive_marks(int fd);
// Every datagram this socket sends carries `mark` (SO_MARK).
Status<int> set_socket_mark(int fd, uint32_t mark);

struct MarkedDatagram {
  size_t size = 0;
  sockaddr_storage from{};
  uint32_t mark = 0;  // 0: none (or receive_marks was not set)
};
// One datagram from a non-blocking socket. Error: errno (EAGAIN/EWOULDBLOCK when none is waiting).
Result<MarkedDatagram, int> receive_marked(int fd, std::span<uint8_t> buffer);
// One datagram to `to` (of length `to_len`), carrying `mark` when it is not 0. Error: errno.
Status<int> send_marked(int fd, std::span<const uint8_t> bytes, const sockaddr* to, socklen_t to_len, uint32_t mark);

}  // namespace l2tpvpn::kernel
