#include "ipsec/charon_process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/os/atomic_file.hpp"
#include "common/os/proc.hpp"
#include "common/os/small_file.hpp"
#include "common/os/spawn.hpp"
#include "common/os/stop.hpp"

namespace l2tpvpn::ipsec {

namespace {

constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;  // 107 on Linux
constexpr size_t kMaxPath = 4096;
constexpr const char* kConfigName = "charon.conf";

// strongSwan's debug groups (debug.h), the names filelog takes.
constexpr std::string_view kSubsystems[] = {"dmn", "mgr", "ike", "chd", "job", "cfg", "knl", "net", "asn",
                                            "enc", "tnc", "imc", "imv", "pts", "tls", "esp", "lib", "any"};

Unexpected<CharonError> invalid(std::string field, std::string detail) {
  return unexpected(CharonError{CharonError::Kind::kInvalidOptions, std::move(field), std::move(detail), 0});
}

Unexpected<CharonError> failure(CharonError::Kind kind, std::string detail, pid_t pid = 0) {
  return unexpected(CharonError{kind, {}, std::move(detail), pid});
}

// A path strongswan.conf can hold unquoted: absolute, and none of the characters its parser treats specially
// (whitespace ends a value, '#' starts a comment, braces and '=' are structure, '"' quotes, '$' references,
// ',' separates list items).
bool plain_path(const std::string& p) {
  if (p.empty() || p.front() != '/' || p.size() > kMaxPath) return false;
  return std::none_of(p.begin(), p.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || std::strchr("#{}=\"'$,\\", c) != nullptr;
  });
}

bool plugin_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Seconds with up to three decimals and no trailing zeros: 4000 ms -> "4", 2500 ms -> "2.5".
std::string seconds_text(std::chrono::milliseconds ms) {
  std::string s = std::to_string(ms.count() / 1000);
  if (const auto frac = ms.count() % 1000; frac != 0) {
    std::string f = std::to_string(1000 + frac).substr(1);
    while (f.back() == '0') f.pop_back();
    s += "." + f;
  }
  return s;
}

std::string double_text(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

const char* to_string(CharonError::Kind k) {
  switch (k) {
    case CharonError::Kind::kInvalidOptions: return "invalid options";
    case CharonError::Kind::kRuntimeDir: return "runtime directory";
    case CharonError::Kind::kWriteConfig: return "writing the configuration";
    case CharonError::Kind::kAlreadyRunning: return "another charon is running";
    case CharonError::Kind::kRunning: return "already started";
    case CharonError::Kind::kSpawn: return "starting charon";
  }
  return "unknown";
}

std::string CharonError::to_string() const {
  std::string s = ipsec::to_string(kind);
  if (!field.empty()) s += ": " + field;
  if (!detail.empty()) s += ": " + detail;
  return s;
}

Status<CharonError> validate(const EmbeddedCharonOptions& o) {
  if (!plain_path(o.charon_path)) return invalid("charon_path", "must be an absolute path without special characters");
  if (!plain_path(o.runtime_dir)) return invalid("runtime_dir", "must be an absolute path without special characters");
  if (!plain_path(o.vici_socket)) return invalid("vici_socket", "must be an absolute path without special characters");
  if (o.vici_socket.size() > kMaxSocketPath)
    return invalid("vici_socket", "longer than " + std::to_string(kMaxSocketPath) + " bytes (sun_path)");
  if (!plain_path(o.pid_file)) return invalid("pid_file", "must be an absolute path");
  if (o.port != 0 && o.port == o.port_nat_t) return invalid("port_nat_t", "must differ from port");
  if (o.log_level < -1 || o.log_level > 4) return invalid("log_level", "must be -1..4");
  for (const auto& [name, level] : o.log_subsystems) {
    if (std::find(std::begin(kSubsystems), std::end(kSubsystems), name) == std::end(kSubsystems))
      return invalid("log_subsystems", "unknown subsystem '" + name + "'");
    if (level < -1 || level > 4) return invalid("log_subsystems", "level of '" + name + "' must be -1..4");
  }
  for (const auto& p : o.extra_plugins)
    if (!plugin_name(p)) return invalid("extra_plugins", "'" + p + "' is not a plugin name");
  if (o.retransmit_tries == 0 || o.retransmit_tries > 20) return invalid("retransmit_tries", "must be 1..20");
  if (o.retransmit_timeout < std::chrono::milliseconds(100) || o.retransmit_timeout > std::chrono::seconds(60))
    return invalid("retransmit_timeout", "must be 0.1..60 s");
  if (!(o.retransmit_base >= 1.0 && o.retransmit_base <= 4.0)) return invalid("retransmit_base", "must be 1..4");
  if (o.retransmit_limit < std::chrono::seconds(1)) return invalid("retransmit_limit", "must be at least 1 s");
  if (o.keep_alive < std::chrono::seconds(1) || o.keep_alive > std::chrono::hours(1))
    return invalid("keep_alive", "must be 1 s..1 h");
  if (o.half_open_timeout < std::chrono::seconds(1)) return invalid("half_open_timeout", "must be at least 1 s");
  return {};
}

std::vector<std::string> charon_plugins(const EmbeddedCharonOptions& o) {
  std::vector<std::string> out(std::begin(kCharonPlugins), std::end(kCharonPlugins));
  for (const auto& p : o.extra_plugins)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

Result<std::string, CharonError> render_strongswan_conf(const EmbeddedCharonOptions& o) {
  if (auto st = validate(o); !st) return unexpected(st.error());
  std::string load;
  for (const auto& p : charon_plugins(o)) load += (load.empty() ? "" : " ") + p;

  std::string s;
  s += "# Written by l2tpvpnd for its embedded charon at every start; edits are lost.\n";
  s += "# Nothing else is read: the host's strongswan.conf and strongswan.d do not apply.\n";
  s += "charon {\n";
  s += "  load_modular = no\n";
  s += "  load = " + load + "\n";
  s += "  port = " + std::to_string(o.port) + "\n";
  s += "  port_nat_t = " + std::to_string(o.port_nat_t) + "\n";
  s += "  install_routes = no\n";
  s += "  install_virtual_ip = no\n";
  s += "  routing_table = 0\n";
  s += "  retransmit_tries = " + std::to_string(o.retransmit_tries) + "\n";
  s += "  retransmit_timeout = " + seconds_text(o.retransmit_timeout) + "\n";
  s += "  retransmit_base = " + double_text(o.retransmit_base) + "\n";
  s += "  retransmit_limit = " + std::to_string(o.retransmit_limit.count()) + "\n";
  s += "  keep_alive = " + std::to_string(o.keep_alive.count()) + "s\n";
  s += "  half_open_timeout = " + std::to_string(o.half_open_timeout.count()) + "\n";
  s += "  plugins {\n";
  s += "    vici {\n";
  s += "      socket = unix://" + o.vici_socket + "\n";
  s += "    }\n";
  s += "  }\n";
  s += "  filelog {\n";
  s += "    stderr {\n";
  s += "      default = " + std::to_string(o.log_level) + "\n";
  for (const auto& [name, level] : o.log_subsystems) s += "      " + name + " = " + std::to_string(level) + "\n";
  if (o.log_timestamps) {
    s += "      time_format = %T\n";
    s += "      time_add_ms = yes\n";
  }
  s += "      ike_name = yes\n";
  s += "      flush_line = yes\n";
  s += "    }\n";
  s += "  }\n";
  s += "}\n";
  return s;
}

std::optional<pid_t> parse_pid_file(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty() || text.size() > 10) return std::nullopt;
  long v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v <= 0 || v > 0x3fffffff) return std::nullopt;
  return static_cast<pid_t>(v);
}

std::string CharonExit::to_string() const {
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

RestartBackoff::Clock::time_point RestartBackoff::on_exited(Clock::time_point now) {
  const bool stable = started_ && now - *started_ >= policy_.stable;
  if (stable) {
    delay_ = policy_.initial;
    quick_exits_ = 0;
  } else {
    ++quick_exits_;
  }
  const auto at = now + delay_;
  delay_ = std::min(delay_ * 2, policy_.max);
  started_.reset();
  return at;
}

bool unix_socket_answers(const std::string& path) {
  if (path.empty() || path.size() > kMaxSocketPath) return false;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  // EAGAIN: a listener whose backlog is full is still a listener.
  const bool answers = rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
  ::close(fd);
  return answers;
}

EmbeddedCharon::EmbeddedCharon(EmbeddedCharonOptions options)
    : options_(std::move(options)), config_path_(options_.runtime_dir + "/" + kConfigName) {}

EmbeddedCharon::~EmbeddedCharon() {
  if (running()) stop();
}

Status<CharonError> EmbeddedCharon::check_pid_file() const {
  const std::string text = os::read_small_file(options_.pid_file).value_or("");
  const auto pid = parse_pid_file(text);
  // No file, or one charon itself will recognise as stale (it unlinks a file whose pid is 0 or not alive).
  if (!pid || (::kill(*pid, 0) != 0 && errno == ESRCH)) return {};
  const std::string comm = os::comm_of(*pid);
  if (comm == "charon") {
    return failure(CharonError::Kind::kAlreadyRunning,
                   options_.pid_file + " names the live charon " + std::to_string(*pid) +
                       ", which does not answer on " + options_.vici_socket +
                       ": use it (point the system VICI socket at it) or stop it",
                   *pid);
  }
  // Left by a charon that was killed; the pid now belongs to some other process, and charon would refuse to
  // start as long as the file names a live process.
  if (::unlink(options_.pid_file.c_str()) != 0 && errno != ENOENT)
    return failure(CharonError::Kind::kAlreadyRunning,
                   "stale " + options_.pid_file + " (pid " + std::to_string(*pid) + " is " + comm +
                       ") cannot be removed: " + errno_text(errno),
                   *pid);
  return {};
}

Status<CharonError> EmbeddedCharon::start() {
  if (running()) return failure(CharonError::Kind::kRunning, "pid " + std::to_string(pid_));
  auto conf = render_strongswan_conf(options_);
  if (!conf) return unexpected(conf.error());

  namespace fs = std::filesystem;
  for (const std::string& dir : {options_.runtime_dir, fs::path(options_.vici_socket).parent_path().string()}) {
    std::error_code ec;
    if (fs::create_directories(dir, ec)) {
      ::chmod(dir.c_str(), 0700);  // new: ours alone (the socket's own mode is charon's business)
    } else if (ec) {
      return failure(CharonError::Kind::kRuntimeDir, dir + ": " + ec.message());
    }
    if (!fs::is_directory(dir, ec)) return failure(CharonError::Kind::kRuntimeDir, dir + ": not a directory");
  }
  if (auto w = os::write_file_atomically(config_path_, *conf, 0600); !w)
    return failure(CharonError::Kind::kWriteConfig, w.error().to_string());
  if (auto st = check_pid_file(); !st) return st;

  os::LaunchSpec spec;
  spec.argv = {options_.charon_path};
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "STRONGSWAN_CONF=" + config_path_};
  spec.stdout_fd = options_.stderr_fd;
  spec.stderr_fd = options_.stderr_fd;
  auto pid = os::spawn_process(spec);
  if (!pid) return failure(CharonError::Kind::kSpawn, pid.error().to_string());
  pid_ = *pid;
  ++starts_;
  return {};
}

namespace {
CharonExit to_exit(const os::ExitStatus& s) {
  return CharonExit{s.exited ? s.code : -1, s.signal};
}
}  // namespace

std::optional<CharonExit> EmbeddedCharon::poll() {
  if (pid_ <= 0) return std::nullopt;
  auto r = os::try_reap(pid_);
  if (!r) return std::nullopt;
  pid_ = 0;
  return to_exit(r->status);
}

std::optional<CharonExit> EmbeddedCharon::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return std::nullopt;
  const pid_t pid = pid_;
  // The group: charon and anything it may have started; SIGKILL after `grace`.
  os::StopPolicy policy;
  policy.grace = grace;
  policy.poll_interval = std::chrono::milliseconds(10);
  const os::ChildStop stopped = os::stop_child(pid, policy);
  // Reaped in every case: a charon SIGKILL has not ended yet (uninterruptible sleep) is waited for.
  const os::ExitStatus status = stopped.status ? *stopped.status : os::wait_for(pid).status;
  pid_ = 0;
  if (stopped.outcome == os::StopOutcome::kKilled || stopped.outcome == os::StopOutcome::kStillAlive) {
    // A killed charon leaves its pid file (and socket) behind; the pid file would name a pid that may be reused.
    if (parse_pid_file(os::read_small_file(options_.pid_file).value_or("")) == pid)
      ::unlink(options_.pid_file.c_str());
  }
  // Anything still in charon's process group goes too (nothing is expected: no plugin of ours forks).
  (void)os::signal_process_group(pid, SIGKILL);
  // charon leaves its socket file behind even on SIGTERM; nothing listens on it any more.
  if (!unix_socket_answers(options_.vici_socket)) ::unlink(options_.vici_socket.c_str());
  return to_exit(status);
}

}  // namespace l2tpvpn::ipsec
