#include "ipsec/vici_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace l2tpvpn::vici {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
// Reads per on_readable() call: bounded so that a chatty charon cannot starve the rest of the event loop.
constexpr int kMaxReadsPerWakeup = 16;

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}
}  // namespace

const char* to_string(ClientState s) {
  switch (s) {
    case ClientState::kStopped: return "stopped";
    case ClientState::kWaiting: return "waiting";
    case ClientState::kConnecting: return "connecting";
    case ClientState::kConnected: return "connected";
  }
  return "unknown";
}

Client::Client(ClientOptions options) : options_(std::move(options)), backoff_(options_.initial_backoff) {}

Client::~Client() {
  close_fd();
}

void Client::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  wbuf_.clear();
}

void Client::start(TimePoint now) {
  if (state_ != ClientState::kStopped) return;
  backoff_ = options_.initial_backoff;
  try_connect(now);
}

void Client::stop() {
  const bool was_connected = state_ == ClientState::kConnected;
  close_fd();
  state_ = ClientState::kStopped;
  if (was_connected) session_.on_disconnect();
}

void Client::try_connect(TimePoint now) {
  close_fd();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.socket_path.size() >= sizeof(addr.sun_path)) {
    stats_.last_error = "vici socket path too long: " + options_.socket_path;
    ++stats_.connect_failures;
    schedule_retry(now);
    return;
  }
  std::memcpy(addr.sun_path, options_.socket_path.data(), options_.socket_path.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    stats_.last_error = errno_text("socket", errno);
    ++stats_.connect_failures;
    schedule_retry(now);
    return;
  }
  ++generation_;
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    established(now);
    return;
  }
  const int err = errno;
  if (err == EINPROGRESS) {
    // Not what Linux does for AF_UNIX, but harmless to support: completion is signalled by writability.
    state_ = ClientState::kConnecting;
    connect_started_ = now;
    return;
  }
  // ENOENT / ECONNREFUSED (charon not running or restarting), EAGAIN (its backlog is full): retry later.
  stats_.last_error = errno_text("connect " + options_.socket_path, err);
  ++stats_.connect_failures;
  close_fd();
  schedule_retry(now);
}

void Client::schedule_retry(TimePoint now) {
  state_ = ClientState::kWaiting;
  retry_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void Client::established(TimePoint now) {
  state_ = ClientState::kConnected;
  backoff_ = options_.initial_backoff;
  ++stats_.connects;
  outstanding_serial_.reset();
  session_.on_connect();
  if (on_connected_) on_connected_();
  flush(now);
}

void Client::drop(TimePoint now, const std::string& reason) {
  const bool was_connected = state_ == ClientState::kConnected;
  close_fd();
  stats_.last_error = reason;
  if (was_connected) {
    ++stats_.disconnects;
  } else {
    ++stats_.connect_failures;
  }
  schedule_retry(now);
  outstanding_serial_.reset();
  if (was_connected) {
    session_.on_disconnect();
    if (on_disconnected_) on_disconnected_(reason);
  }
}

bool Client::wants_write() const {
  return state_ == ClientState::kConnecting ||
         (state_ == ClientState::kConnected && (!wbuf_.empty() || session_.wants_write()));
}

void Client::flush(TimePoint now) {
  if (state_ != ClientState::kConnected) return;
  Bytes more = session_.take_output();
  if (!more.empty()) wbuf_.insert(wbuf_.end(), more.begin(), more.end());
  size_t done = 0;
  while (done < wbuf_.size()) {
    const ssize_t n = ::send(fd_, wbuf_.data() + done, wbuf_.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    const int err = errno;
    wbuf_.erase(wbuf_.begin(), wbuf_.begin() + static_cast<std::ptrdiff_t>(done));
    drop(now, errno_text("send", err));
    return;
  }
  wbuf_.erase(wbuf_.begin(), wbuf_.begin() + static_cast<std::ptrdiff_t>(done));
  track_outstanding(now);
}

void Client::track_outstanding(TimePoint now) {
  const auto serial = session_.outstanding();
  if (serial != outstanding_serial_) {
    outstanding_serial_ = serial;
    outstanding_since_ = now;
  }
}

void Client::on_writable(TimePoint now) {
  if (state_ == ClientState::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      drop(now, errno_text("connect " + options_.socket_path, err));
      return;
    }
    established(now);
    return;
  }
  flush(now);
}

void Client::on_readable(TimePoint now) {
  if (state_ == ClientState::kConnecting) {
    on_writable(now);
    return;
  }
  if (state_ != ClientState::kConnected) return;
  uint8_t buf[kReadChunk];
  for (int i = 0; i < kMaxReadsPerWakeup && state_ == ClientState::kConnected; ++i) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      auto st = session_.on_bytes(ByteView(buf, static_cast<size_t>(n)));
      if (!st) {
        drop(now, "protocol error from charon: " + st.error().detail);
        return;
      }
      continue;
    }
    if (n == 0) {
      drop(now, "charon closed the vici connection");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    drop(now, errno_text("recv", errno));
    return;
  }
  flush(now);
}

void Client::on_timer(TimePoint now) {
  switch (state_) {
    case ClientState::kWaiting:
      if (now >= retry_at_) try_connect(now);
      break;
    case ClientState::kConnecting:
      if (now >= connect_started_ + options_.request_timeout) drop(now, "connect timed out");
      break;
    case ClientState::kConnected:
      track_outstanding(now);
      if (outstanding_serial_ && now >= outstanding_since_ + options_.request_timeout) {
        ++stats_.timeouts;
        drop(now, "charon did not answer within the request timeout");
      }
      break;
    case ClientState::kStopped: break;
  }
}

std::optional<TimePoint> Client::next_deadline() const {
  switch (state_) {
    case ClientState::kWaiting: return retry_at_;
    case ClientState::kConnecting: return connect_started_ + options_.request_timeout;
    case ClientState::kConnected:
      if (outstanding_serial_) return outstanding_since_ + options_.request_timeout;
      return std::nullopt;
    case ClientState::kStopped: return std::nullopt;
  }
  return std::nullopt;
}

void Client::poll_once(std::chrono::milliseconds max_wait) {
  TimePoint now = Clock::now();
  auto wait = max_wait;
  if (auto d = next_deadline()) {
    auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*d - now) + std::chrono::milliseconds(1);
    wait = std::clamp(until, std::chrono::milliseconds(0), max_wait);
  }
  if (fd_ >= 0) {
    pollfd p{fd_, static_cast<short>(POLLIN | (wants_write() ? POLLOUT : 0)), 0};
    const int r = ::poll(&p, 1, static_cast<int>(wait.count()));
    now = Clock::now();
    if (r > 0) {
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) on_readable(now);
      if (fd_ >= 0 && (p.revents & POLLOUT)) on_writable(now);
    }
  } else if (wait.count() > 0) {
    ::poll(nullptr, 0, static_cast<int>(wait.count()));
    now = Clock::now();
  }
  on_timer(now);
}

}  // namespace l2tpvpn::vici
