// l2tp_loadgen: an L2TPv2 LAC that sets up thousands of tunnels and sessions against an LNS (l2tpvpnd, xl2tpd),
// for tests/bench/setup_bench.py. Not a pass/fail test of speed: it exits 1 only when a setup did not complete
// (or a torn-down LNS left something behind that it reports), which is the correctness-under-load check.
//
// It is our L2TP core in the LAC role (its control channel does the retransmissions) on one UDP socket per
// --tunnels-per-socket tunnels, driven by a plain epoll loop. At most --in-flight setups (a tunnel: SCCRQ until
// TunnelUp; a session: ICRQ until SessionUp) are outstanding at once; calls of established tunnels go first.
// Every outgoing datagram is looked at to time the acknowledgement of each ICCN and SCCCN: from its first
// transmission until a datagram from the LNS carries an Nr past it.
//
// With an LNS that runs a real pppd per session, --ppp-wait times "every pppd running": a session's pppd runs once
// its first PPP frame (its first LCP Configure-Request) arrives here as the first L2TP data message of that session
// (whoever frames it: the LNS's kernel, or the LNS itself in pty mode). The result gives when the last session's
// first frame came (from the first SCCRQ) and each session's time from SessionUp (ICCN sent) to its first frame;
// the hold ends early once every session has had one. Frames are not answered: pppd keeps resending its request.
//
// Phases: setup; hold (--hold-ms: everything stays up, HELLOs flow; "LOADGEN up" is printed when it starts so
// a caller can sample the LNS); teardown (--teardown: StopCCN for every tunnel, until each is acknowledged).
// The result is one line "LOADGEN result {json}"; --latencies FILE writes every latency sample (ms), one
// "kind value" pair a line, for CDF plots.
#include <boost/program_options.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/l2tp/endpoint.hpp"

namespace po = boost::program_options;
using namespace l2tpvpn;
using namespace l2tpvpn::l2tp;

namespace {

double ms_between(TimePoint a, TimePoint b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
// CLOCK_REALTIME in ns: the clock SO_TIMESTAMPNS stamps arrivals with.
int64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Percentiles {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = v.back();
  return p;
}
std::string json(const Percentiles& p) {
  char b[160];
  std::snprintf(b, sizeof b, "{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", p.n, p.p50, p.p90,
                p.p99, p.max);
  return b;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

PeerAddress from_sockaddr(const sockaddr_in& sa) { return PeerAddress::v4(ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)); }

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("l2tp_loadgen");
  desc.add_options()("help", "this text")("peer", po::value<std::string>()->default_value("127.0.0.1"), "LNS address")(
      "port", po::value<int>()->default_value(1701), "LNS UDP port")(
      "bind", po::value<std::string>()->default_value("127.0.0.1"), "our address (ports are ephemeral)")(
      "tunnels", po::value<size_t>()->default_value(100), "tunnels to set up")(
      "sessions", po::value<size_t>()->default_value(0), "calls (ICRQ) per tunnel")(
      "in-flight", po::value<size_t>()->default_value(100), "setups outstanding at once")(
      "tunnels-per-socket", po::value<size_t>()->default_value(10), "tunnels sharing one UDP socket")(
      "hold-ms", po::value<int>()->default_value(0), "keep everything up this long after the setup (at most)")(
      "release-file", po::value<std::string>(), "end the hold early once this file exists")(
      "hello-s", po::value<int>()->default_value(60), "our HELLO interval during the hold")(
      "teardown", po::bool_switch(), "close every tunnel (StopCCN) at the end and wait for the acks")(
      "ppp-wait", po::bool_switch(), "end the hold once every session has sent its first PPP frame")(
      "timeout-s", po::value<int>()->default_value(120), "give up the setup after this long")(
      "latencies", po::value<std::string>(), "write every latency sample here")(
      "max-retransmissions", po::value<unsigned>()->default_value(5), "control channel retries before giving up");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "l2tp_loadgen: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  const size_t n_tunnels = vm["tunnels"].as<size_t>(), per_tunnel = vm["sessions"].as<size_t>();
  const size_t in_flight = std::max<size_t>(1, vm["in-flight"].as<size_t>());
  const size_t per_socket = std::max<size_t>(1, vm["tunnels-per-socket"].as<size_t>());
  const size_t n_sessions = n_tunnels * per_tunnel;

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  sockaddr_in lns{};
  lns.sin_family = AF_INET;
  lns.sin_port = htons(static_cast<uint16_t>(vm["port"].as<int>()));
  inet_pton(AF_INET, vm["peer"].as<std::string>().c_str(), &lns.sin_addr);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, vm["bind"].as<std::string>().c_str(), &local.sin_addr);
  const PeerAddress lns_peer = from_sockaddr(lns);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> sockets;
  for (size_t i = 0; i < (n_tunnels + per_socket - 1) / per_socket; ++i) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // Kernel receive timestamps: an ack's latency without our own wait for a CPU (see wire_ns below).
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    int buf = 4 << 20;  // past rmem_max as root: a lost datagram costs a 1 s retransmission
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      std::cerr << "l2tp_loadgen: socket " << i << ": " << std::strerror(errno) << "\n";
      return 2;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(sockets.size());
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    sockets.push_back(fd);
  }

  L2tpConfig cfg;
  cfg.role = Role::kLac;
  cfg.host_name = "l2tp-loadgen";
  cfg.max_tunnels = cfg.max_tunnels_per_peer = 65535;
  cfg.max_sessions_per_tunnel = 65535;
  cfg.max_control_rate = 0;
  cfg.max_control_bytes = 1 << 24;
  cfg.stop_hold = Duration(2000);
  cfg.channel.hello_interval = std::chrono::seconds(vm["hello-s"].as<int>());
  cfg.channel.max_retransmissions = vm["max-retransmissions"].as<unsigned>();
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  Endpoint lac(cfg, [rng](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>((*rng)());
  });

  // Bookkeeping.
  std::unordered_map<uint16_t, size_t> socket_of;         // our tunnel ID -> socket index
  std::unordered_map<uint16_t, TimePoint> tunnel_started;  // SCCRQ sent, not up yet
  std::map<std::pair<uint16_t, uint16_t>, TimePoint> call_started;
  std::map<std::pair<uint16_t, uint16_t>, TimePoint> ack_wait;  // (tunnel, Ns) of an ICCN/SCCCN -> first sent
  std::map<std::pair<uint16_t, uint16_t>, char> ack_kind;
  std::set<uint16_t> up_tunnels;
  std::multiset<uint16_t> lns_tunnel_ids;  // the LNS's IDs of our live tunnels
  std::map<uint16_t, std::multiset<uint16_t>> lns_session_ids;  // per tunnel
  std::multiset<uint16_t> lns_session_ids_all;
  std::vector<double> lat_tunnel, lat_session, lat_iccn_ack, lat_scccn_ack;
  // The same acks timed on the wire: from just before our sendto of the SCCCN/ICCN until the kernel stamped the
  // datagram carrying its ack on arrival (SO_TIMESTAMPNS, CLOCK_REALTIME). Our own scheduling (this process runs
  // niced beside the LNS on the same CPUs) is then left out: what remains is the LNS's and the loopback's.
  std::vector<double> wire_iccn_ack, wire_scccn_ack;
  std::map<std::pair<uint16_t, uint16_t>, int64_t> ack_tx_ns;
  size_t tunnel_collisions = 0, session_collisions = 0, session_collisions_across = 0;
  size_t tunnels_up = 0, sessions_up = 0, tunnels_failed = 0, sessions_failed = 0, tunnels_down_acked = 0;
  std::deque<uint16_t> calls_to_place;  // tunnel IDs, one entry per call
  size_t tunnels_opened = 0, outstanding = 0;
  std::map<int, size_t> tunnel_down_results, session_down_results;
  bool tearing_down = false;
  uint64_t datagrams_sent = 0, datagrams_received = 0;
  size_t ended_by_lns = 0;  // established sessions the LNS ended before our teardown (e.g. its pppd exited)
  TimePoint run_start = Clock::now(), last_end_by_lns{};
  // First PPP frame per session (our tunnel ID << 16 | our session ID): SessionUp time until the first data message.
  std::unordered_map<uint32_t, TimePoint> awaiting_frame;
  std::vector<double> lat_first_frame;
  TimePoint last_first_frame{};

  auto handle_send = [&](const SendDatagram& s, TimePoint now) {
    auto it = socket_of.find(s.tunnel_id);
    const int fd = sockets[it == socket_of.end() ? 0 : it->second];
    const int64_t tx_ns = realtime_ns();
    sendto(fd, s.bytes.data(), s.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&lns), sizeof lns);
    ++datagrams_sent;
    auto p = decode_packet(s.bytes);
    if (!p || !p->header.control || p->payload.empty()) return;
    auto m = decode_message(p->payload, DecodeOptions{});
    if (!m || (m->type != MessageType::kIccn && m->type != MessageType::kScccn)) return;
    auto key = std::make_pair(s.tunnel_id, p->header.ns);
    if (ack_wait.try_emplace(key, now).second) {
      ack_kind[key] = m->type == MessageType::kIccn ? 'i' : 's';
      ack_tx_ns[key] = tx_ns;
    }
  };
  auto handle_receive = [&](ByteView bytes, TimePoint now, int64_t rx_ns) {
    auto p = decode_packet(bytes);
    if (!p) return;
    const Header* h = &p->header;
    if (!h->control) {
      auto it = awaiting_frame.find(static_cast<uint32_t>(h->tunnel_id) << 16 | h->session_id);
      if (it != awaiting_frame.end()) {
        lat_first_frame.push_back(ms_between(it->second, now));
        last_first_frame = now;
        awaiting_frame.erase(it);
      }
      return;
    }
    for (auto it = ack_wait.lower_bound({h->tunnel_id, 0}); it != ack_wait.end() && it->first.first == h->tunnel_id;) {
      if (seq_before(it->first.second, h->nr)) {
        const bool iccn = ack_kind[it->first] == 'i';
        (iccn ? lat_iccn_ack : lat_scccn_ack).push_back(ms_between(it->second, now));
        if (auto tx = ack_tx_ns.find(it->first); tx != ack_tx_ns.end()) {
          (iccn ? wire_iccn_ack : wire_scccn_ack).push_back(static_cast<double>(rx_ns - tx->second) / 1e6);
          ack_tx_ns.erase(tx);
        }
        ack_kind.erase(it->first);
        it = ack_wait.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto handle_event = [&](const Action& a, TimePoint now) {
    if (auto* up = std::get_if<TunnelUp>(&a)) {
      ++tunnels_up;
      --outstanding;
      up_tunnels.insert(up->tunnel_id);
      if (lns_tunnel_ids.count(up->peer_tunnel_id)) ++tunnel_collisions;
      lns_tunnel_ids.insert(up->peer_tunnel_id);
      lat_tunnel.push_back(ms_between(tunnel_started[up->tunnel_id], now));
      tunnel_started.erase(up->tunnel_id);
      for (size_t i = 0; i < per_tunnel; ++i) calls_to_place.push_back(up->tunnel_id);
    } else if (auto* su = std::get_if<SessionUp>(&a)) {
      ++sessions_up;
      --outstanding;
      auto& mine = lns_session_ids[su->tunnel_id];
      if (mine.count(su->peer_session_id)) ++session_collisions;
      if (lns_session_ids_all.count(su->peer_session_id)) ++session_collisions_across;
      mine.insert(su->peer_session_id);
      lns_session_ids_all.insert(su->peer_session_id);
      awaiting_frame[static_cast<uint32_t>(su->tunnel_id) << 16 | su->session_id] = now;
      auto key = std::make_pair(su->tunnel_id, su->session_id);
      lat_session.push_back(ms_between(call_started[key], now));
      call_started.erase(key);
    } else if (auto* sd = std::get_if<SessionDown>(&a)) {
      auto key = std::make_pair(sd->tunnel_id, sd->session_id);
      if (call_started.erase(key)) {
        ++sessions_failed;
        --outstanding;
      } else if (!tearing_down) {
        ++sessions_failed;  // an established session ended before the end of the run
        if (sd->by_peer) {
          ++ended_by_lns;
          last_end_by_lns = now;
        }
      }
      ++session_down_results[sd->result.result];
    } else if (auto* td = std::get_if<TunnelDown>(&a)) {
      if (tunnel_started.erase(td->tunnel_id)) {
        ++tunnels_failed;
        --outstanding;
      } else if (!tearing_down) {
        ++tunnels_failed;
      }
      ++tunnel_down_results[td->result.result];
      up_tunnels.erase(td->tunnel_id);
      for (auto it = call_started.lower_bound({td->tunnel_id, 0});
           it != call_started.end() && it->first.first == td->tunnel_id;)
        it = call_started.erase(it);
    }
  };
  auto drain = [&](TimePoint now) {
    for (;;) {
      auto actions = lac.take_actions();
      if (actions.empty()) return;
      for (auto& a : actions) {
        if (auto* s = std::get_if<SendDatagram>(&a)) handle_send(*s, now);
        else handle_event(a, now);
      }
    }
  };
  // Starts setups up to the in-flight bound: calls of established tunnels first, then new tunnels.
  auto start_setups = [&](TimePoint now) {
    while (outstanding < in_flight && !tearing_down) {
      if (!calls_to_place.empty()) {
        uint16_t t = calls_to_place.front();
        calls_to_place.pop_front();
        if (!up_tunnels.count(t)) continue;
        auto sid = lac.open_call(now, t, CallDirection::kIncoming);
        if (!sid) continue;
        call_started[{t, *sid}] = now;
        ++outstanding;
      } else if (tunnels_opened < n_tunnels) {
        // The socket is chosen before the SCCRQ is produced (open_tunnel queues it; drain sends it).
        auto id = lac.open_tunnel(now, lns_peer);
        if (!id) break;
        socket_of[*id] = tunnels_opened / per_socket;
        tunnel_started[*id] = now;
        ++tunnels_opened;
        ++outstanding;
      } else {
        break;
      }
      drain(now);
    }
  };
  std::array<uint8_t, 65536> buf{};
  // One turn of the loop: wait for datagrams until `until` or the next timer, feed them and the timers in.
  auto turn = [&](TimePoint until) {
    TimePoint now = Clock::now();
    auto next = lac.next_deadline();
    TimePoint wake = next ? std::min(*next, until) : until;
    int timeout_ms = wake <= now ? 0 : static_cast<int>(std::ceil(ms_between(now, wake)));
    epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, std::min(timeout_ms, 1000));
    now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const int fd = sockets[evs[i].data.u32];
      for (;;) {
        sockaddr_in from{};
        iovec iov{buf.data(), buf.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t r = recvmsg(fd, &msg, 0);
        if (r < 0) break;
        int64_t rx_ns = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts;
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            rx_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
          }
        }
        if (rx_ns == 0) rx_ns = realtime_ns();
        ByteView bytes(buf.data(), static_cast<size_t>(r));
        ++datagrams_received;
        handle_receive(bytes, now, rx_ns);
        lac.on_datagram(now, from_sockaddr(from), bytes);
        drain(now);
      }
    }
    if (auto d = lac.next_deadline(); d && *d <= now) {
      lac.on_timer(now);
      drain(now);
    }
    start_setups(now);
  };

  const double cpu0 = cpu_seconds();
  const TimePoint t0 = Clock::now();
  run_start = t0;
  const TimePoint give_up = t0 + std::chrono::seconds(vm["timeout-s"].as<int>());
  start_setups(t0);
  TimePoint last_done = t0;
  while (Clock::now() < give_up) {
    if (tunnels_up + tunnels_failed >= n_tunnels && sessions_up + sessions_failed >= tunnels_up * per_tunnel &&
        outstanding == 0)
      break;
    turn(give_up);
    last_done = Clock::now();
  }
  const double setup_s = std::max(1e-9, ms_between(t0, last_done) / 1000);
  const double setup_cpu = cpu_seconds() - cpu0;
  const uint64_t setup_sent = datagrams_sent, setup_received = datagrams_received;
  auto retransmissions_so_far = [&] {
    uint64_t n = lac.stats().retransmissions_of_gone_tunnels;
    for (const Tunnel* t : lac.tunnels()) n += t->channel_stats().retransmissions;
    return n;
  };
  const uint64_t setup_retransmissions = retransmissions_so_far();
  // Acks still in flight at the end of the setup are collected during the hold/teardown.
  std::printf("LOADGEN up tunnels=%zu sessions=%zu\n", tunnels_up, sessions_up);
  std::fflush(stdout);

  uint64_t control_sent_at_up = 0;
  for (const Tunnel* t : lac.tunnels()) control_sent_at_up += t->channel_stats().sent;
  const TimePoint hold_end = Clock::now() + std::chrono::milliseconds(vm["hold-ms"].as<int>());
  size_t hold_lost_tunnels = tunnels_failed, hold_lost_sessions = sessions_failed;
  const std::string release = vm.count("release-file") ? vm["release-file"].as<std::string>() : "";
  const bool ppp_wait = vm["ppp-wait"].as<bool>();
  while (Clock::now() < hold_end && (release.empty() || access(release.c_str(), F_OK) != 0) &&
         !(ppp_wait && lat_first_frame.size() >= sessions_up))
    turn(std::min(hold_end, Clock::now() + std::chrono::milliseconds(50)));
  // Let the acks of the last setups arrive (bounded).
  for (TimePoint end = Clock::now() + std::chrono::milliseconds(500); !ack_wait.empty() && Clock::now() < end;)
    turn(end);
  hold_lost_tunnels = tunnels_failed - hold_lost_tunnels;
  hold_lost_sessions = sessions_failed - hold_lost_sessions;
  uint64_t control_sent = 0;
  size_t hold_unacked = 0;  // tunnels whose last HELLO (or anything else) is still unacknowledged
  for (const Tunnel* t : lac.tunnels()) {
    control_sent += t->channel_stats().sent;
    if (t->live() && t->held_control_bytes() > 0) ++hold_unacked;
  }
  const uint64_t hold_retransmissions = retransmissions_so_far() - setup_retransmissions;

  double teardown_s = 0;
  size_t left_after_teardown = 0;
  if (vm["teardown"].as<bool>()) {
    tearing_down = true;
    const TimePoint td0 = Clock::now();
    lac.close_all(td0, ResultCode{result::kStopGeneralRequest, std::nullopt, "loadgen done"});
    drain(td0);
    const TimePoint end = td0 + std::chrono::seconds(30);
    auto unacked = [&] {
      size_t n = 0;
      for (const Tunnel* t : lac.tunnels())
        if (t->state() != TunnelState::kDead && t->held_control_bytes() > 0) ++n;
      return n;
    };
    while (unacked() > 0 && Clock::now() < end) turn(end);
    teardown_s = ms_between(td0, Clock::now()) / 1000;
    left_after_teardown = unacked();
    tunnels_down_acked = n_tunnels - left_after_teardown;
  }

  const uint64_t retransmissions = retransmissions_so_far();

  if (vm.count("latencies")) {
    std::ofstream out(vm["latencies"].as<std::string>());
    for (double v : lat_tunnel) out << "tunnel " << v << "\n";
    for (double v : lat_session) out << "session " << v << "\n";
    for (double v : lat_iccn_ack) out << "iccn_ack " << v << "\n";
    for (double v : lat_scccn_ack) out << "scccn_ack " << v << "\n";
    for (double v : lat_first_frame) out << "ppp_first_frame " << v << "\n";
  }
  const bool complete = tunnels_up == n_tunnels && sessions_up == n_sessions && left_after_teardown == 0;
  auto results_json = [](const std::map<int, size_t>& m) {
    std::string s = "{";
    for (const auto& [k, v] : m) s += (s.size() > 1 ? "," : "") + ("\"" + std::to_string(k) + "\":" + std::to_string(v));
    return s + "}";
  };
  std::printf(
      "LOADGEN result {\"tunnels\":%zu,\"sessions_per_tunnel\":%zu,\"in_flight\":%zu,\"sockets\":%zu,"
      "\"tunnels_up\":%zu,\"sessions_up\":%zu,\"tunnels_failed\":%zu,\"sessions_failed\":%zu,"
      "\"lost_during_hold\":{\"tunnels\":%zu,\"sessions\":%zu},"
      "\"setup_datagrams_sent\":%llu,\"setup_datagrams_received\":%llu,"
      "\"setup_s\":%.4f,\"tunnels_per_s\":%.1f,\"sessions_per_s\":%.1f,\"loadgen_cpu_s\":%.3f,"
      "\"tunnel_setup_ms\":%s,\"session_setup_ms\":%s,\"iccn_ack_ms\":%s,\"scccn_ack_ms\":%s,"
      "\"iccn_ack_wire_ms\":%s,\"scccn_ack_wire_ms\":%s,"
      "\"tunnel_id_collisions\":%zu,\"session_id_collisions\":%zu,\"session_ids_shared_across_tunnels\":%zu,"
      "\"sessions_ended_by_lns\":%zu,\"last_end_by_lns_s\":%.3f,"
      "\"ppp_first_frames\":%zu,\"ppp_all_s\":%.4f,\"ppp_first_frame_ms\":%s,"
      "\"hold\":{\"control_sent\":%llu,\"retransmissions\":%llu,\"unacked_at_end\":%zu},"
      "\"setup_retransmissions\":%llu,\"retransmissions\":%llu,\"control_messages_sent\":%llu,\"teardown_s\":%.3f,\"teardown_unacked\":%zu,"
      "\"tunnels_down_acked\":%zu,\"tunnel_down_results\":%s,\"session_down_results\":%s,\"complete\":%s}\n",
      n_tunnels, per_tunnel, in_flight, sockets.size(), tunnels_up, sessions_up, tunnels_failed, sessions_failed,
      hold_lost_tunnels, hold_lost_sessions, static_cast<unsigned long long>(setup_sent),
      static_cast<unsigned long long>(setup_received), setup_s, static_cast<double>(tunnels_up) / setup_s,
      static_cast<double>(sessions_up) / setup_s, setup_cpu, json(percentiles(lat_tunnel)).c_str(),
      json(percentiles(lat_session)).c_str(), json(percentiles(lat_iccn_ack)).c_str(),
      json(percentiles(lat_scccn_ack)).c_str(), json(percentiles(wire_iccn_ack)).c_str(),
      json(percentiles(wire_scccn_ack)).c_str(), tunnel_collisions, session_collisions, session_collisions_across,
      ended_by_lns, ended_by_lns ? ms_between(run_start, last_end_by_lns) / 1000 : 0.0, lat_first_frame.size(),
      lat_first_frame.empty() ? 0.0 : ms_between(run_start, last_first_frame) / 1000,
      json(percentiles(lat_first_frame)).c_str(),
      static_cast<unsigned long long>(control_sent - control_sent_at_up),
      static_cast<unsigned long long>(hold_retransmissions), hold_unacked,
      static_cast<unsigned long long>(setup_retransmissions), static_cast<unsigned long long>(retransmissions), static_cast<unsigned long long>(control_sent), teardown_s,
      left_after_teardown, tunnels_down_acked, results_json(tunnel_down_results).c_str(),
      results_json(session_down_results).c_str(), complete ? "true" : "false");
  for (int fd : sockets) close(fd);
  close(ep);
  return complete ? 0 : 1;
}
