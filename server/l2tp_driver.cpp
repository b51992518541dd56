#include "server/l2tp_driver.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include <sys/socket.h>

#include "server/kernel/marked_udp.hpp"
#include "server/kernel/pppol2tp_data_plane.hpp"
#include "server/log.hpp"

namespace l2tpvpn {

namespace asio = boost::asio;
using asio::ip::udp;

l2tp::PeerAddress to_peer(const udp::endpoint& ep) {
  l2tp::PeerAddress p;
  p.port = ep.port();
  if (ep.address().is_v4()) {
    p = l2tp::PeerAddress::v4(ep.address().to_v4().to_uint(), ep.port());
  } else {
    p.family = l2tp::PeerAddress::Family::kV6;
    auto b = ep.address().to_v6().to_bytes();
    std::copy(b.begin(), b.end(), p.ip.begin());
  }
  return p;
}

udp::endpoint to_asio(const l2tp::PeerAddress& peer) {
  if (peer.family == l2tp::PeerAddress::Family::kV4) {
    asio::ip::address_v4::bytes_type b{peer.ip[0], peer.ip[1], peer.ip[2], peer.ip[3]};
    return udp::endpoint(asio::ip::address_v4(b), peer.port);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy(peer.ip.begin(), peer.ip.end(), b.begin());
  return udp::endpoint(asio::ip::address_v6(b), peer.port);
}

L2tpDriver::L2tpDriver(asio::io_context& io, l2tp::Endpoint& endpoint, EventFn on_event)
    : io_(io), endpoint_(endpoint), on_event_(std::move(on_event)), socket_(io), timer_(io) {}

Status<SetupError> L2tpDriver::open(const udp::endpoint& bind) {
  boost::system::error_code ec;
  // udp/1701 is shared by our listener and every kernel tunnel's connected socket, all with SO_REUSEPORT and
  // never SO_REUSEADDR: Linux lets a UDP socket join a SO_REUSEPORT group only when its owner has the same
  // effective UID as the group's, while SO_REUSEADDR sharing has no such check, so any local user could bind the
  // port too and receive decrypted L2TP. A root program with SO_REUSEPORT could still join; so first make sure
  // nobody holds the port: a probe bound without either option conflicts with every socket already there.
  {
    udp::socket probe(io_);
    probe.open(bind.protocol(), ec);
    if (!ec) probe.bind(bind, ec);
    if (ec == asio::error::address_in_use)
      return unexpected(SetupError{SetupPart::kL2tpSocket, ec.value(),
                                   "UDP " + bind.address().to_string() + ":" + std::to_string(bind.port()) +
                                       " is already in use by another program (another L2TP server, such as "
                                       "xl2tpd?): stop it first"});
    ec.clear();
  }
  socket_.open(bind.protocol(), ec);
  if (!ec) {
    if (auto shared = kernel::share_l2tp_port(socket_.native_handle()); !shared)
      ec.assign(shared.error(), boost::system::system_category());
  }
  if (!ec) socket_.bind(bind, ec);
  if (!ec) socket_.non_blocking(true, ec);  // receive() reads what is queued until EAGAIN
  if (!ec) {
    // Every new tunnel's SCCRQ and every datagram of a tunnel without its own socket arrives here. The default
    // receive buffer (rmem_default, 208 KiB) holds only about a hundred small datagrams on loopback (each is
    // charged its whole buffer), so a burst of setups overflows it and each loss costs its peer a 1 s
    // retransmission. As root SO_RCVBUFFORCE passes rmem_max; failing that, SO_RCVBUF gets what rmem_max allows.
    const int bytes = kReceiveBufferBytes;
    if (setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
      (void)setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    marks_supported_ = static_cast<bool>(kernel::receive_marks(socket_.native_handle()));
  }
  if (ec)
    return unexpected(SetupError{SetupPart::kL2tpSocket, ec.value(),
                                 "cannot bind UDP " + bind.address().to_string() + ":" +
                                     std::to_string(bind.port()) + ": " + ec.message()});
  return {};
}

void L2tpDriver::start() {
  receive();
  kick();
}

void L2tpDriver::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  for (auto& [id, ts] : tunnel_sockets_) ts->socket.close(ec);
  tunnel_sockets_.clear();
  timer_.cancel();
}

Status<SetupError> L2tpDriver::attach_tunnel_socket(uint16_t tunnel_id, int fd) {
  auto ts = std::make_shared<TunnelSocket>(io_);
  boost::system::error_code ec;
  ts->socket.assign(socket_.local_endpoint().protocol(), fd, ec);
  if (!ec) ts->socket.non_blocking(true, ec);
  if (ec) return unexpected(SetupError{SetupPart::kTunnelSocket, ec.value(), "cannot adopt tunnel socket: " + ec.message()});
  detach_tunnel_socket(tunnel_id);
  tunnel_sockets_[tunnel_id] = ts;
  receive_tunnel(tunnel_id, ts);
  return {};
}

void L2tpDriver::detach_tunnel_socket(uint16_t tunnel_id) {
  auto it = tunnel_sockets_.find(tunnel_id);
  if (it == tunnel_sockets_.end()) return;
  boost::system::error_code ec;
  it->second->socket.close(ec);
  tunnel_sockets_.erase(it);
}

namespace {

// The same conversion as for an asio endpoint, with the datagram's mark.
l2tp::PeerAddress to_peer(const sockaddr_storage& from, uint32_t mark) {
  udp::endpoint ep;
  const size_t len = from.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(ep.data(), &from, len);
  ep.resize(len);
  l2tp::PeerAddress p = l2tpvpn::to_peer(ep);
  p.mark = mark;
  return p;
}

}  // namespace

size_t L2tpDriver::read_from(udp::socket& socket, std::span<uint8_t> buffer, int at_most) {
  // Every datagram with the mark of the IPsec SA it came through (SO_RCVMARK), so that clients behind one NAT,
  // which may share address and port, are told apart.
  const auto now = l2tp::Clock::now();
  size_t n = 0;
  while (static_cast<int>(n) < at_most) {
    auto d = kernel::receive_marked(socket.native_handle(), buffer);
    if (!d) {
      if (d.error() == EINTR) continue;
      if (d.error() != EAGAIN && d.error() != EWOULDBLOCK) ++receive_errors_;
      break;
    }
    ++n;
    endpoint_.on_datagram(now, to_peer(d->from, d->mark), ByteView(buffer.data(), d->size));
  }
  return n;
}

void L2tpDriver::receive_tunnel(uint16_t tunnel_id, std::shared_ptr<TunnelSocket> ts) {
  ts->socket.async_wait(udp::socket::wait_read, [this, tunnel_id, ts](boost::system::error_code ec) {
    if (stopped_ || ec == asio::error::operation_aborted || !ts->socket.is_open()) return;
    if (!ec) read_from(ts->socket, buffer_, kReceiveBatch);
    kick();
    receive_tunnel(tunnel_id, ts);
  });
}

void L2tpDriver::receive() {
  socket_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) read_queued(kReceiveBatch);
    kick();
    receive();
  });
}

size_t L2tpDriver::read_queued(int at_most) {
  // Whatever is queued already is read without a round through the reactor per datagram.
  return read_from(socket_, buffer_, at_most);
}

void L2tpDriver::kick() {
  // A handler of an action may drive the endpoint and kick again: that call returns at once, and the running
  // round takes what the handler queued after the handler returns, so actions run in the order the endpoint
  // produced them and no handler runs inside another.
  if (kicking_) return;
  kicking_ = true;
  run_actions();
}

void L2tpDriver::take_actions() {
  // Datagrams go out as soon as they are taken: an ack or a reply never waits for what a handler of an earlier
  // action does. The other actions queue, in order.
  for (auto& a : endpoint_.take_actions()) {
    if (auto* s = std::get_if<l2tp::SendDatagram>(&a))
      send(*s);
    else if (on_event_)
      events_.push_back(std::move(a));
  }
}

void L2tpDriver::run_actions() {
  if (stopped_) {
    kicking_ = false;
    return;
  }
  take_actions();
  auto polled = l2tp::Clock::now();
  const auto slice_end = polled + kSlice;
  while (!events_.empty()) {
    l2tp::Action a = std::move(events_.front());
    events_.pop_front();
    on_event_(a);
    // A long run of handlers (each SessionUp spawns a pppd, about a millisecond) would leave the datagrams that
    // arrive meanwhile unread and unacknowledged until it ends: every kPollInterval the listener is read, and
    // what that produces is sent now; its other actions queue behind the ones already taken, as they would have
    // if the datagrams had arrived after this round.
    const auto now = l2tp::Clock::now();
    if (now - polled >= kPollInterval) {
      read_queued(kReceiveBatch);
      polled = now;
    }
    take_actions();
    if (now >= slice_end && !events_.empty()) {
      // The rest runs in a later turn of the event loop, so that the status server, pppd's reports and the
      // timers are not held up by thousands of setups. kick() meanwhile returns at once; this round takes what
      // it was asked for.
      asio::post(io_, [this] { run_actions(); });
      return;
    }
  }
  kicking_ = false;
  arm_timer();
}

void L2tpDriver::send(const l2tp::SendDatagram& s) {
  boost::system::error_code ec;
  auto ts = tunnel_sockets_.find(s.tunnel_id);
  if (s.to.mark != 0) {
    // Through the peer's SA: from the listener with the SA's mark. (A kernel tunnel's socket of a marked peer may
    // be bound to the SA's data port, which only data messages are translated from.)
    const udp::endpoint to = to_asio(s.to);
    if (auto sent = kernel::send_marked(socket_.native_handle(), s.bytes, to.data(),
                                        static_cast<socklen_t>(to.size()), s.to.mark);
        !sent)
      ec.assign(sent.error(), boost::system::system_category());
  } else if (ts != tunnel_sockets_.end()) {
    ts->second->socket.send(asio::buffer(s.bytes), 0, ec);
  } else {
    socket_.send_to(asio::buffer(s.bytes), to_asio(s.to), 0, ec);
  }
  if (ec) {
    ++send_errors_;
    log::debug("event=send_error peer=" + s.to.to_string() + " error=" + ec.message());
  }
}

void L2tpDriver::arm_timer() {
  if (stopped_) return;
  auto deadline = endpoint_.next_deadline();
  // Re-arming the timer after every datagram would cancel and re-queue a wait each time. A wait already armed
  // for the same or an earlier time stays: if it fires before anything is due, on_timer finds nothing to do and
  // the timer is armed again for the real deadline. Without a deadline it may likewise fire once for nothing.
  if (!deadline || (armed_ && *armed_ <= *deadline)) return;
  armed_ = *deadline;
  timer_.expires_at(*deadline);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;  // operation_aborted: replaced by an earlier deadline, which reset armed_ itself
    armed_.reset();
    endpoint_.on_timer(l2tp::Clock::now());
    kick();
  });
}

}  // namespace l2tpvpn
