// The driver of the L2TP core: the one place that executes its actions. It owns the UDP socket (Boost.Asio) and
// one steady timer, feeds datagrams and time into the Endpoint, sends the datagrams it asks for, and hands every
// other action (TunnelUp, SessionUp, ...) to the daemon's callback. Datagrams go out as soon as the endpoint
// produces them, and the listener is read between slow handlers (pppd spawns), so an ack never waits for a
// handler; the other actions run in the order the endpoint produced them.
//
// Thread-safety: all methods run on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "server/setup_error.hpp"
#include "server/l2tp/endpoint.hpp"

namespace l2tpvpn {

l2tp::PeerAddress to_peer(const boost::asio::ip::udp::endpoint& ep);
boost::asio::ip::udp::endpoint to_asio(const l2tp::PeerAddress& peer);

class L2tpDriver {
 public:
  // The listener's receive buffer (SO_RCVBUFFORCE as root): room for bursts of thousands of setups.
  static constexpr int kReceiveBufferBytes = 4 << 20;
  // Datagrams read from the listener per turn of the event loop, their actions run in one kick().
  static constexpr int kReceiveBatch = 64;
  // While kick() runs handlers (pppd spawns), the listener is read this often, so acks never wait for them.
  static constexpr std::chrono::microseconds kPollInterval{1000};
  // kick() runs handlers for this long, then lets the event loop serve others before it goes on.
  static constexpr std::chrono::microseconds kSlice{5000};

  using EventFn = std::function<void(l2tp::Action&)>;

  L2tpDriver(boost::asio::io_context& io, l2tp::Endpoint& endpoint, EventFn on_event);

  // Binds the UDP socket. Errors: a message naming the address: the port held by another program (checked first:
  // another root program's SO_REUSEPORT socket could otherwise join ours silently), or the bind error.
  Status<SetupError> open(const boost::asio::ip::udp::endpoint& bind);
  void start();
  // Call after driving the endpoint directly (open_tunnel, close_session, ...): sends its datagrams at once and
  // runs its other actions in order until the endpoint has none left, then re-arms the timer. After kSlice of
  // handlers the rest runs in a later turn of the event loop. Called from inside a handler, or while such a
  // later turn is pending, it returns at once: the running round takes what was queued (never re-entrant).
  void kick();
  void stop();
  // Kernel data path: a tunnel gets its own UDP socket connected to the peer (the PPPoL2TP tunnel socket is
  // attached to it). From then on its control packets arrive on, and are sent from, that socket. The driver takes
  // ownership of `fd`. Errors: false with a message.
  Status<SetupError> attach_tunnel_socket(uint16_t tunnel_id, int fd);
  void detach_tunnel_socket(uint16_t tunnel_id);
  boost::asio::ip::udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
  // Whether each datagram's IPsec SA mark is read (SO_RCVMARK: Linux 5.19 on); without it every mark is 0.
  bool marks_supported() const { return marks_supported_; }
  uint64_t send_errors() const { return send_errors_; }
  uint64_t receive_errors() const { return receive_errors_; }

 private:
  struct TunnelSocket {
    explicit TunnelSocket(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::udp::socket socket;
  };
  void receive();
  void receive_tunnel(uint16_t tunnel_id, std::shared_ptr<TunnelSocket> ts);
  // Reads up to `at_most` queued datagrams from `socket`, each with its SA mark, into the endpoint; returns how many.
  size_t read_from(boost::asio::ip::udp::socket& socket, std::span<uint8_t> buffer, int at_most);
  void arm_timer();
  void send(const l2tp::SendDatagram& s);
  void take_actions();
  void run_actions();
  // Reads up to `at_most` datagrams already queued on the listener into the endpoint; returns how many.
  size_t read_queued(int at_most);
  std::map<uint16_t, std::shared_ptr<TunnelSocket>> tunnel_sockets_;

  boost::asio::io_context& io_;
  l2tp::Endpoint& endpoint_;
  EventFn on_event_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  // Every socket is read synchronously once it is readable, so one buffer serves them all. A tunnel socket gets
  // what its kernel tunnel passes up: control messages, and data of sessions it does not know (a pty session
  // sharing the tunnel's 4-tuple), so up to a full datagram.
  std::array<uint8_t, 65536> buffer_{};
  bool marks_supported_ = false;
  uint64_t send_errors_ = 0;
  uint64_t receive_errors_ = 0;
  bool stopped_ = false;
  std::optional<l2tp::TimePoint> armed_;  // when the timer's pending wait fires, if one is pending
  bool kicking_ = false;               // a round of run_actions is running or posted
  std::deque<l2tp::Action> events_;    // taken from the endpoint, not run yet
};

}  // namespace l2tpvpn
