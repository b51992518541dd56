// What the status (HTTP) and control servers let in: at most `max` connections open at once, each holding a
// ConnectionLimit::Slot for as long as it lives; past the cap a connection is accepted only to be closed (or
// answered 503), so the backlog drains and a flood cannot take every descriptor of the daemon. The counters
// (accepted, refused over the cap, closed for idling, accepts that failed for want of descriptors) go into the
// status snapshot. Pure: no sockets, no clock; the servers do the I/O and the timing.
//
// A Slot shares the counters with its ConnectionLimit, so a connection that outlives its server (a handler still
// queued in the io_context) releases its slot safely.
//
// Thread-safety: none; the daemon's event-loop thread.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace l2tpvpn {

struct ListenerCounters {
  uint64_t open = 0;                 // connections open now
  uint64_t max = 0;                  // the cap
  uint64_t accepted = 0;             // admitted under the cap
  uint64_t refused_over_cap = 0;     // accepted and closed at once (HTTP: answered 503) because the cap was reached
  uint64_t idle_closed = 0;          // closed because the client sent nothing for the idle limit
  uint64_t accept_fd_exhausted = 0;  // accept() failed with EMFILE/ENFILE (or ENOBUFS/ENOMEM): accepting paused
  bool operator==(const ListenerCounters&) const = default;
};

class ConnectionLimit {
 public:
  // The connection's hold on one place under the cap; released when destroyed.
  class Slot {
   public:
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&&) noexcept = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (counters_) --counters_->open;
    }
    // The connection was closed for idling (counted once per slot).
    void idle_closed() {
      if (counters_ && !idle_counted_) {
        ++counters_->idle_closed;
        idle_counted_ = true;
      }
    }

   private:
    friend class ConnectionLimit;
    explicit Slot(std::shared_ptr<ListenerCounters> c) : counters_(std::move(c)) { ++counters_->open; }
    std::shared_ptr<ListenerCounters> counters_;
    bool idle_counted_ = false;
  };

  explicit ConnectionLimit(size_t max) : counters_(std::make_shared<ListenerCounters>()) { counters_->max = max; }

  // A slot for a connection just accepted, or nullopt (counted as refused) when `max` are open.
  std::optional<Slot> admit() {
    if (counters_->open >= counters_->max) {
      ++counters_->refused_over_cap;
      return std::nullopt;
    }
    ++counters_->accepted;
    return Slot(counters_);
  }
  // accept() failed because the process or the system is out of descriptors (or memory).
  void fd_exhausted() { ++counters_->accept_fd_exhausted; }
  // A new cap applies to the next admit(); open connections are kept.
  void set_max(size_t max) { counters_->max = max; }
  const ListenerCounters& counters() const { return *counters_; }

 private:
  std::shared_ptr<ListenerCounters> counters_;
};

// accept(2) errors after which accepting again at once would fail again: the listener waits a moment instead.
inline bool is_resource_exhaustion(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace l2tpvpn
