// One side of a kernel L2TP data path without the L2TP control plane, for the VM scenarios.
//
// Once both ends have a PPPoL2TP tunnel and session whose IDs mirror each other, the kernel carries data messages
// between them; no control message is needed for that. So running this once per network namespace, with
// mirrored IDs, and putting pppd on each session socket proves the adapter (PppoL2tpDataPlane), the launcher's
// fd passing and pppd's pppol2tp.so plugin together, independently of the control plane.
//
// usage: pppol2tp_pair --local IP:PORT --peer IP:PORT --tunnel LOCAL:PEER --session LOCAL:PEER
//                      [--lns] [--seq] [--pppd PATH] -- PPPD_OPTIONS...
// Runs `pppd plugin pppol2tp.so pppol2tp 3 [pppol2tp_lns_mode] pppol2tp_tunnel_id T pppol2tp_session_id S
// nodetach PPPD_OPTIONS...` with the session socket as fd 3, waits for it, then destroys the session and tunnel.
// SIGTERM/SIGINT are passed on to pppd (which then exits 5, "user request").
// Exit status: pppd's exit code (128 + signal if a signal ended it); 70 for a usage error; 71 when the kernel
// data path cannot be set up (the error is printed).
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ppp/pppd_args.hpp"
#include "ppp/pppd_exit.hpp"
#include "ppp/pppd_launcher.hpp"
#include "server/kernel/pppol2tp_data_plane.hpp"

namespace {

using l2tpvpn::kernel::Ipv4Endpoint;

constexpr int kUsageExit = 70;
constexpr int kDataPathExit = 71;

std::optional<uint16_t> parse_u16(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// "192.0.2.1:1701"
std::optional<Ipv4Endpoint> parse_endpoint(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = parse_u16(s.substr(colon + 1));
  if (!port) return std::nullopt;
  Ipv4Endpoint e;
  e.port = *port;
  std::string_view ip = s.substr(0, colon);
  for (size_t i = 0; i < 4; ++i) {
    auto dot = ip.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    auto octet = parse_u16(ip.substr(0, dot));
    if (!octet || *octet > 255) return std::nullopt;
    e.ip[i] = static_cast<uint8_t>(*octet);
    ip = dot == std::string_view::npos ? std::string_view{} : ip.substr(dot + 1);
  }
  return e;
}

// "LOCAL:PEER" IDs
std::optional<std::pair<uint16_t, uint16_t>> parse_id_pair(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto a = parse_u16(s.substr(0, colon)), b = parse_u16(s.substr(colon + 1));
  if (!a || !b) return std::nullopt;
  return std::make_pair(*a, *b);
}

struct Args {
  Ipv4Endpoint local, peer;
  std::pair<uint16_t, uint16_t> tunnel, session;
  bool lns = false;
  bool seq = false;
  std::string pppd = "/usr/sbin/pppd";
  std::vector<std::string> pppd_options;
};

std::optional<Args> parse_args(int argc, char** argv) {
  Args a;
  bool have_local = false, have_peer = false, have_tunnel = false, have_session = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--lns") {
      a.lns = true;
      continue;
    }
    if (arg == "--seq") {
      a.seq = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    std::string_view value = argv[++i];
    if (arg == "--local") {
      auto e = parse_endpoint(value);
      if (!e) return std::nullopt;
      a.local = *e;
      have_local = true;
    } else if (arg == "--peer") {
      auto e = parse_endpoint(value);
      if (!e) return std::nullopt;
      a.peer = *e;
      have_peer = true;
    } else if (arg == "--tunnel") {
      auto p = parse_id_pair(value);
      if (!p) return std::nullopt;
      a.tunnel = *p;
      have_tunnel = true;
    } else if (arg == "--session") {
      auto p = parse_id_pair(value);
      if (!p) return std::nullopt;
      a.session = *p;
      have_session = true;
    } else if (arg == "--pppd") {
      a.pppd = value;
    } else {
      return std::nullopt;
    }
  }
  for (; i < argc; ++i) a.pppd_options.emplace_back(argv[i]);
  if (!have_local || !have_peer || !have_tunnel || !have_session) return std::nullopt;
  return a;
}

// Waits for pppd while passing SIGTERM/SIGINT on to it. The signals are blocked and taken with sigwaitinfo, so
// there is no handler and no race between "pppd exited" and "we were told to stop".
l2tpvpn::ppp::Reaped wait_passing_signals(pid_t pid, const sigset_t& set) {
  for (;;) {
    if (auto r = l2tpvpn::ppp::try_reap_pppd(pid)) return *r;
    siginfo_t info{};
    int sig = sigwaitinfo(&set, &info);
    if (sig == SIGTERM || sig == SIGINT) {
      std::fprintf(stderr, "pppol2tp_pair: signal %d: stopping pppd %d\n", sig, pid);
      (void)l2tpvpn::os::signal_process_group(pid, SIGTERM);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  if (!args) {
    std::fprintf(stderr,
                 "usage: %s --local IP:PORT --peer IP:PORT --tunnel LOCAL:PEER --session LOCAL:PEER [--lns] "
                 "[--seq] [--pppd PATH] -- PPPD_OPTIONS...\n",
                 argv[0]);
    return kUsageExit;
  }
  // Block before spawning: a SIGCHLD or SIGTERM arriving early is then queued for sigwaitinfo, not lost. The
  // launcher gives pppd an empty mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  l2tpvpn::kernel::PppoL2tpDataPlane plane;
  const l2tpvpn::kernel::TunnelSpec spec{args->tunnel.first, args->tunnel.second, args->local, args->peer};
  auto tunnel = plane.create_tunnel(spec);
  if (!tunnel) {
    std::fprintf(stderr, "pppol2tp_pair: %s\n", tunnel.error().to_string().c_str());
    return kDataPathExit;
  }
  l2tpvpn::kernel::SessionOptions options;
  options.lns_mode = args->lns;
  options.send_seq = options.recv_seq = args->seq;
  auto session = plane.create_session(*tunnel, args->session.first, args->session.second, options);
  if (!session) {
    std::fprintf(stderr, "pppol2tp_pair: %s\n", session.error().to_string().c_str());
    return kDataPathExit;
  }
  std::printf("pppol2tp_pair: tunnel %u/%u (%s -> %s) session %u/%u fd %d\n", spec.local_tunnel_id, spec.peer_tunnel_id,
              spec.local.to_string().c_str(), spec.peer.to_string().c_str(), session->session_id,
              session->peer_session_id, session->fd);
  std::fflush(stdout);

  std::vector<std::string> pppd_argv = {args->pppd, "plugin", "pppol2tp.so", "pppol2tp",
                                        std::to_string(l2tpvpn::ppp::kPppol2tpChildFd)};
  if (args->lns) pppd_argv.emplace_back("pppol2tp_lns_mode");
  // Informational for pppd (logs, ip-up environment); the socket already carries the IDs.
  pppd_argv.insert(pppd_argv.end(), {"pppol2tp_tunnel_id", std::to_string(spec.local_tunnel_id), "pppol2tp_session_id",
                                     std::to_string(session->session_id)});
  pppd_argv.emplace_back("nodetach");
  pppd_argv.insert(pppd_argv.end(), args->pppd_options.begin(), args->pppd_options.end());

  auto pid = l2tpvpn::ppp::spawn_pppd(pppd_argv, session->fd, -1, /*stderr_fd=*/2);
  if (!pid) {
    std::fprintf(stderr, "pppol2tp_pair: %s\n", pid.error().to_string().c_str());
    return kDataPathExit;
  }
  std::printf("pppol2tp_pair: pppd pid %d\n", *pid);
  std::fflush(stdout);

  const auto reaped = wait_passing_signals(*pid, set);
  const auto& term = reaped.termination;
  std::printf("pppol2tp_pair: pppd exited: code %d signal %d (%s)\n", term.raw_exit_code, term.signal,
              std::string(l2tpvpn::ppp::to_string(term.exit)).c_str());

  // Sessions before the tunnel, as the daemon will do on SessionDown/TunnelDown.
  if (auto st = plane.destroy_session(tunnel->tunnel_id, session->session_id); !st)
    std::fprintf(stderr, "pppol2tp_pair: %s\n", st.error().to_string().c_str());
  if (auto st = plane.destroy_tunnel(tunnel->tunnel_id); !st)
    std::fprintf(stderr, "pppol2tp_pair: %s\n", st.error().to_string().c_str());
  std::printf("pppol2tp_pair: closed\n");
  return term.raw_exit_code >= 0 ? term.raw_exit_code : 128 + term.signal;
}
