// The VICI unix-socket adapter: owns one non-blocking AF_UNIX stream socket to charon's vici plugin, moves bytes
// between it and a vici::Session, and reconnects with exponential back-off when charon goes away.
//
// Event-loop contract (no threads, no timers of its own; strongSwan's davici follows the same idea):
//   - watch fd() for readability always, and for writability while wants_write(); call on_readable(now) /
//     on_writable(now) when it fires;
//   - call on_timer(now) when next_deadline() passes (reconnect attempts, request timeouts);
//   - fd() changes with every (re)connection and is -1 while disconnected: re-register it when
//     connection_generation() changes (with Boost.Asio: release() the old posix::stream_descriptor, wrap the new
//     fd, async_wait(wait_read / wait_write)).
// poll_once() is such a loop in miniature (poll(2)), for tools and tests.
//
// Every failure (EOF, reset, garbage, a frame over 512 KiB, an unexpected packet, an answer overdue by
// request_timeout) ends the same way: the socket is closed, every outstanding operation fails with
// kDisconnected, on_disconnected(reason) runs, and a reconnect is scheduled. After a reconnect on_connected()
// runs, where the owner re-registers events and re-loads its state (ipsec::CharonLink does exactly that).
//
// Thread-safety: none; one thread (the event loop) drives a Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "ipsec/vici_session.hpp"

namespace l2tpvpn::vici {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct ClientOptions {
  std::string socket_path = "/var/run/charon.vici";
  std::chrono::milliseconds initial_backoff{100};    // first retry after a failure
  std::chrono::milliseconds max_backoff{5000};       // back-off doubles up to this
  std::chrono::milliseconds request_timeout{30000};  // an answer overdue this long drops the connection
};

enum class ClientState : uint8_t { kStopped, kWaiting, kConnecting, kConnected };
const char* to_string(ClientState s);

struct ClientStats {
  uint64_t connects = 0;          // successful connections
  uint64_t connect_failures = 0;  // attempts that failed (charon not running, socket missing)
  uint64_t disconnects = 0;       // established connections lost
  uint64_t timeouts = 0;          // connections dropped for an overdue answer
  std::string last_error;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Session& session() { return session_; }
  const Session& session() const { return session_; }
  void set_on_connected(std::function<void()> cb) { on_connected_ = std::move(cb); }
  void set_on_disconnected(std::function<void(const std::string& reason)> cb) { on_disconnected_ = std::move(cb); }

  // Tries to connect now; on failure schedules a retry. stop() closes and stays closed until start().
  void start(TimePoint now);
  void stop();

  int fd() const { return fd_; }
  uint64_t connection_generation() const { return generation_; }
  bool wants_write() const;
  void on_readable(TimePoint now);
  void on_writable(TimePoint now);
  void on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  ClientState state() const { return state_; }
  bool connected() const { return state_ == ClientState::kConnected; }
  const ClientStats& stats() const { return stats_; }

  // One round of a poll(2) loop: waits at most `max_wait` (less if a deadline is nearer), then dispatches.
  void poll_once(std::chrono::milliseconds max_wait);

 private:
  void try_connect(TimePoint now);
  void established(TimePoint now);
  void drop(TimePoint now, const std::string& reason);
  void schedule_retry(TimePoint now);
  void flush(TimePoint now);
  void track_outstanding(TimePoint now);
  void close_fd();

  ClientOptions options_;
  Session session_;
  std::function<void()> on_connected_;
  std::function<void(const std::string&)> on_disconnected_;
  ClientState state_ = ClientState::kStopped;
  int fd_ = -1;
  uint64_t generation_ = 0;
  Bytes wbuf_;
  std::chrono::milliseconds backoff_;
  TimePoint retry_at_{};
  TimePoint connect_started_{};
  std::optional<uint64_t> outstanding_serial_;
  TimePoint outstanding_since_{};
  ClientStats stats_;
};

}  // namespace l2tpvpn::vici
