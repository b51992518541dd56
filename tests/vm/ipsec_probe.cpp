// ipsec_probe: the IPsec half of l2tpvpnd, alone, for the VM scenario ipsec_profiles (and for poking at by
// hand). It does what the daemon will do: start the embedded charon (ipsec::EmbeddedCharon), connect the VICI
// client, load the L2TP/IPsec profile through CharonLink, keep the SaRegistry in sync, and restart charon with
// back-off if it dies. It answers questions about the registry on a unix socket.
//
//   ipsec_probe serve --control SOCK --runtime-dir DIR --psk PSK [--legacy] [--log-level N]
//       Runs until SIGTERM/SIGINT, then stops charon (EmbeddedCharon::stop) and exits 0. Logs one line per event
//       to stdout; charon's own log goes to stderr.
//   ipsec_probe query SOCK COMMAND [ARGS]
//       Sends one command line, prints the one-line JSON answer. Commands:
//         status              link state, counters, charon pid, starts and last exit
//         sas                 every SA in the registry (SaRegistry::all())
//         find IP PORT [MARK] SaRegistry::find(IP, PORT, MARK), or null; without MARK, the newest of the answers
//                             for the marks the registry's CHILD_SAs have (the profile marks every L2TP SA)
//         refresh             asks for a new list-sas snapshot (byte/packet counters); answers at once
//   ipsec_probe udp [--src IP] [--sport PORT] DST_IP DST_PORT
//       Sends one UDP datagram ("l2tpvpn probe") from IP:PORT (default any:1701): L2TP-shaped traffic for the
//       transport policy.
//
// Small on purpose: the answer is what the registry holds, converted field by field, nothing inferred.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ipsec/charon_link.hpp"
#include "ipsec/charon_process.hpp"
#include "ipsec/sa_registry.hpp"
#include "ipsec/vici_client.hpp"

using namespace l2tpvpn;
using namespace l2tpvpn::ipsec;
using namespace std::chrono_literals;
using json = nlohmann::json;
using vici::Clock;

namespace {

int usage() {
  std::cerr << "usage: ipsec_probe serve --control SOCK --runtime-dir DIR --psk PSK [--legacy] [--log-level N]\n"
               "       ipsec_probe query SOCK COMMAND [ARGS]\n"
               "       ipsec_probe udp [--src IP] [--sport PORT] DST_IP DST_PORT\n";
  return 2;
}

// Wall-clock time of day with milliseconds, the format charon's log uses with log_timestamps.
void log_line(const std::string& s) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::localtime_r(&ts.tv_sec, &t);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03ld", t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
  std::cout << buf << " probe: " << s << std::endl;
}

json proposal_json(const Proposal& p) {
  return {{"encr", p.encr}, {"integ", p.integ}, {"prf", p.prf}, {"dh", p.dh}};
}

json sa_json(const SaInfo& s) {
  return {{"ike_name", s.ike_name},
          {"ike_id", s.ike_id},
          {"child_name", s.child_name},
          {"child_id", s.child_id},
          {"reqid", s.reqid},
          {"mark_in", s.mark_in},
          {"mark_out", s.mark_out},
          {"local", s.local_address.to_string()},
          {"local_port", s.local_port},
          {"remote", s.remote_address.to_string()},
          {"remote_port", s.remote_port},
          {"remote_id", s.remote_id},
          {"nat", s.nat},
          {"encap", s.encap},
          {"ike", proposal_json(s.ike)},
          {"esp", proposal_json(s.esp)},
          {"bytes_in", s.bytes_in},
          {"bytes_out", s.bytes_out},
          {"packets_in", s.packets_in},
          {"packets_out", s.packets_out},
          {"local_ts", s.local_ts},
          {"remote_ts", s.remote_ts}};
}

sockaddr_un unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  return a;
}

class Probe {
 public:
  Probe(EmbeddedCharonOptions charon_options, ProfileConfig profile, std::string control)
      : charon_(std::move(charon_options)),
        client_(client_options(charon_.socket_path())),
        link_(client_.session(), registry_),
        profile_(std::move(profile)),
        control_path_(std::move(control)) {}

  int run() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, nullptr);  // before charon exists; spawn_process unblocks them for it
    sigfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd_ < 0 || !listen_control()) return 1;

    client_.set_on_connected([this] {
      log_line("vici: connected");
      link_.on_connected();
    });
    client_.set_on_disconnected([this](const std::string& why) {
      log_line("vici: disconnected: " + why);
      link_.on_disconnected();
    });
    link_.set_on_state([this](LinkState s) {
      log_line(std::string("link: ") + to_string(s) + " (sas " + std::to_string(registry_.size()) + ")");
    });
    if (auto st = link_.add_profile(profile_); !st) {
      log_line("profile: " + to_string(st.error()));
      return 1;
    }
    if (!start_charon()) return 1;
    client_.start(Clock::now());

    size_t last_size = registry_.size();
    while (!stopping_) {
      std::vector<pollfd> fds = {{sigfd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      if (client_.fd() >= 0)
        fds.push_back({client_.fd(), static_cast<short>(POLLIN | (client_.wants_write() ? POLLOUT : 0)), 0});
      int timeout_ms = 1000;
      auto now = Clock::now();
      for (auto d : {client_.next_deadline(), restart_at_}) {
        if (!d) continue;
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d - now).count() + 1;
        timeout_ms = static_cast<int>(std::clamp<int64_t>(ms, 0, timeout_ms));
      }
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) return 1;
      now = Clock::now();
      if (fds[0].revents & POLLIN) on_signals(now);
      if (fds[1].revents & POLLIN) on_control();
      if (fds.size() > 2 && client_.fd() == fds[2].fd) {
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) client_.on_readable(now);
        if (client_.fd() >= 0 && (fds[2].revents & POLLOUT)) client_.on_writable(now);
      }
      client_.on_timer(now);
      if (restart_at_ && now >= *restart_at_) {
        restart_at_.reset();
        if (!start_charon()) restart_at_ = backoff_.on_exited(now);
      }
      if (registry_.size() != last_size) {
        last_size = registry_.size();
        log_line("registry: " + std::to_string(last_size) + " SA(s)");
      }
    }
    client_.stop();
    if (auto exit = charon_.stop(10s)) log_line("charon: stopped, " + exit->to_string());
    ::unlink(control_path_.c_str());
    return 0;
  }

 private:
  static vici::ClientOptions client_options(const std::string& socket) {
    vici::ClientOptions o;
    o.socket_path = socket;
    o.initial_backoff = 100ms;
    o.max_backoff = 1000ms;  // charon starts slowly in a TCG guest; keep probing often
    o.request_timeout = 20s;
    return o;
  }

  bool start_charon() {
    auto st = charon_.start();
    if (!st) {
      log_line("charon: start failed: " + st.error().to_string());
      return false;
    }
    backoff_.on_started(Clock::now());
    log_line("charon: started, pid " + std::to_string(charon_.pid()) + ", start " + std::to_string(charon_.starts()));
    return true;
  }

  void on_signals(Clock::time_point now) {
    signalfd_siginfo si{};
    while (::read(sigfd_, &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
      if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stopping_ = true;
    }
    // SIGCHLD (or any wake-up): the daemon's reaction to charon's exit, with back-off.
    if (auto exit = charon_.poll()) {
      last_exit_ = exit->to_string();
      restart_at_ = backoff_.on_exited(now);
      log_line("charon: exited, " + *last_exit_ + "; restart in " + std::to_string(ms_until_restart(now)) + " ms");
    }
  }
  int64_t ms_until_restart(Clock::time_point now) const {
    return restart_at_ ? std::chrono::duration_cast<std::chrono::milliseconds>(*restart_at_ - now).count() : -1;
  }

  bool listen_control() {
    ::unlink(control_path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = unix_addr(control_path_);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listen_fd_, 8) != 0) {
      log_line("control: " + control_path_ + ": " + std::strerror(errno));
      return false;
    }
    return true;
  }

  // One line in, one JSON line out. The query tool writes its line right after connecting, so a short receive
  // timeout keeps a stuck client from blocking the loop for long.
  void on_control() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string line;
    char c = 0;
    while (line.size() < 512 && ::read(fd, &c, 1) == 1 && c != '\n') line += c;
    const std::string answer = answer_for(line).dump() + "\n";
    (void)!::write(fd, answer.data(), answer.size());
    ::close(fd);
  }

  json answer_for(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "status") {
      const auto& ls = link_.stats();
      return {{"link", to_string(link_.state())},
              {"syncs", ls.syncs},
              {"snapshots", ls.snapshots},
              {"events", ls.events},
              {"load_failures", ls.load_failures},
              {"last_error", link_.last_error()},
              {"connects", client_.stats().connects},
              {"sas", registry_.size()},
              {"registry",
               {{"snapshots", registry_.stats().snapshots},
                {"events", registry_.stats().events},
                {"ignored_children", registry_.stats().ignored_children},
                {"malformed", registry_.stats().malformed}}},
              {"charon_pid", charon_.pid()},
              {"charon_starts", charon_.starts()},
              {"charon_last_exit", last_exit_ ? json(*last_exit_) : json(nullptr)}};
    }
    if (cmd == "sas") {
      json all = json::array();
      for (const auto& s : registry_.all()) all.push_back(sa_json(s));
      return {{"link", to_string(link_.state())}, {"sas", all}};
    }
    if (cmd == "find") {
      std::string ip;
      unsigned port = 0;
      in >> ip >> port;
      auto addr = IpAddress::parse(ip);
      if (!addr || port > 65535) return {{"error", "usage: find IP PORT [MARK]"}};
      std::optional<SaInfo> sa;
      if (uint32_t mark = 0; in >> mark) {
        sa = registry_.find(*addr, static_cast<uint16_t>(port), mark);
      } else {
        // Without MARK: what a datagram through any of the SAs (each with its own mark) would find, the newest.
        for (const auto& s : registry_.all())
          if (auto f = registry_.find(*addr, static_cast<uint16_t>(port), s.mark_in);
              f && (!sa || f->child_id > sa->child_id))
            sa = f;
      }
      return sa ? sa_json(*sa) : json(nullptr);
    }
    if (cmd == "refresh") {
      link_.refresh();
      return {{"ok", true}};
    }
    return {{"error", "unknown command '" + cmd + "'"}};
  }

  EmbeddedCharon charon_;
  SaRegistry registry_;
  vici::Client client_;
  CharonLink link_;
  ProfileConfig profile_;
  std::string control_path_;
  RestartBackoff backoff_{RestartPolicy{1000ms, 10000ms, 60000ms}};
  std::optional<Clock::time_point> restart_at_;
  std::optional<std::string> last_exit_;
  int sigfd_ = -1;
  int listen_fd_ = -1;
  bool stopping_ = false;
};

int serve(int argc, char** argv) {
  EmbeddedCharonOptions co;
  ProfileConfig profile;
  std::string control;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--control") {
      control = next();
    } else if (a == "--runtime-dir") {
      co.runtime_dir = next();
      co.vici_socket = co.runtime_dir + "/charon.vici";
    } else if (a == "--psk") {
      profile.psk = next();
    } else if (a == "--legacy") {
      profile.crypto = CryptoSet::kLegacy;
    } else if (a == "--log-level") {
      co.log_level = std::atoi(next().c_str());
    } else {
      return usage();
    }
  }
  if (control.empty()) return usage();
  co.log_subsystems = {{"cfg", 1}, {"knl", 1}};
  co.log_timestamps = true;
  Probe probe(co, profile, control);
  return probe.run();
}

int query(int argc, char** argv) {
  if (argc < 4) return usage();
  std::string line;
  for (int i = 3; i < argc; ++i) line += (i > 3 ? " " : "") + std::string(argv[i]);
  line += "\n";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = unix_addr(argv[2]);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::cerr << "ipsec_probe: " << argv[2] << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (answer.empty()) return 1;
  std::cout << answer;
  return 0;
}

int udp(int argc, char** argv) {
  int sport = 1701;
  std::string src = "0.0.0.0";
  int i = 2;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--sport") {
      sport = std::atoi(argv[i + 1]);
    } else if (opt == "--src") {
      src = argv[i + 1];
    } else {
      return usage();
    }
  }
  if (argc - i != 2) return usage();
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[i + 1])));
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_port = htons(static_cast<uint16_t>(sport));
  if (::inet_pton(AF_INET, argv[i], &dst.sin_addr) != 1 || ::inet_pton(AF_INET, src.c_str(), &from.sin_addr) != 1)
    return usage();
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const char msg[] = "l2tpvpn probe";
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      ::sendto(fd, msg, sizeof(msg) - 1, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0) {
    std::cerr << "ipsec_probe udp: " << std::strerror(errno) << "\n";
    return 1;
  }
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  if (mode == "serve") return serve(argc, argv);
  if (mode == "query") return query(argc, argv);
  if (mode == "udp") return udp(argc, argv);
  return usage();
}
