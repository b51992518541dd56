// The contract between the daemon's status document and l2tpvpnctl's tables, across the process boundary: a
// snapshot with every field set to a distinct value goes through to_json (the daemon), status_from_json (the
// CLI) and cli/render, and each value must reach the output with nothing left unread. Built against the CLI's
// library alone, as l2tpvpnctl is.
#include <gtest/gtest.h>

#include "cli/render.hpp"
#include "server/status.hpp"

namespace l2tpvpn {
namespace {

StatusSnapshot every_field_set() {
  StatusSnapshot s;
  s.server = ServerView{"9.8.7", 3 * 3600 + 25 * 60, "192.0.2.1:1701",
                        ListenerCounters{.open = 3, .max = 64, .accepted = 201, .refused_over_cap = 202,
                                         .idle_closed = 203, .accept_fd_exhausted = 204},
                        ListenerCounters{.open = 1, .max = 16, .accepted = 301, .refused_over_cap = 302,
                                         .idle_closed = 303, .accept_fd_exhausted = 304}};
  TunnelView t;
  t.id = 4321;
  t.peer_id = 8765;
  t.peer = "198.51.100.7:1701";
  t.peer_mark = 7001;
  t.peer_host_name = "WIN-HOST";
  t.state = l2tp::TunnelState::kEstablished;
  t.sessions.push_back(L2tpSessionView{555, 666, l2tp::SessionState::kEstablished, l2tp::CallDirection::kIncoming, 1,
                                       false});
  t.control.retransmissions = 17;
  s.l2tp.tunnels.push_back(t);
  s.l2tp.drops["not_admitted"] = 23;
  IpsecView ip;
  ip.required = true;
  ip.charon = "embedded";
  ip.link = "ready";
  ip.charon_pid = 4242;
  ip.tunnels_closed_for_sa = 31;
  ip.ike_terminated = 37;
  ip.sas.push_back(SaView{"198.51.100.7", 4501, true, true, "l2tpvpn[12]", "l2tp{34}", "AES_CBC-256/HMAC_SHA1_96",
                          "AES_CBC-128/HMAC_SHA2_256_128", 2048, 4096, 7003, 7004});
  s.ipsec = ip;
  PppView p;
  p.data_path = "kernel";
  p.pool_range = "10.99.0.10-10.99.0.250";
  p.pool_capacity = 241;
  p.pool_in_use = 19;
  p.pppd_running = 13;
  p.counters = PppCounters{.sessions_started = 101, .sessions_refused = 102, .pppd_exits = 103, .pppd_killed = 41,
                           .auth_failures = 104, .report_errors = 105, .pty_frames_in = 106, .pty_frames_out = 107,
                           .pty_overflow_drops = 108, .hdlc = {}};
  p.counters.sessions_over_limit = 113;
  p.counters.pty_oversize_drops = 114;
  p.counters.hdlc.bad_fcs = 109;
  p.counters.hdlc.too_short = 110;
  p.counters.hdlc.too_long = 111;
  p.counters.hdlc.aborted = 112;
  s.ppp = p;
  SessionView v;
  v.tunnel = 4321;
  v.session = 555;
  v.peer_tunnel = 8765;
  v.peer_session = 666;
  v.peer = "198.51.100.7:1701";
  v.peer_mark = 7002;
  v.user = "alice";
  v.address = "10.99.0.77";
  v.interface = "ppp-l2tp5";
  v.data_path = "kernel";
  v.state = SessionPhase::kUp;
  v.since = "2026-12-01T18:00:00Z";
  v.pppd_pid = 9999;
  v.bytes_in = 3 * 1024 * 1024;
  v.bytes_out = 5 * 1024;
  v.ipsec = SessionIpsecView{true, 4501, "ike", "esp"};
  s.sessions.push_back(v);
  return s;
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(StatusCliContract, EveryFieldTheDaemonSendsReachesTheStatusTables) {
  auto read = status_from_json(to_json(every_field_set()));
  EXPECT_TRUE(read.unread.empty()) << cli::render_unread(read.unread);
  const std::string out = cli::render_status(read.value);
  for (const char* want : {
           "l2tpvpnd 9.8.7, up 3h25m, L2TP on 192.0.2.1:1701",                                  // server
           "Status endpoint: 3/64 connections, accepted=201, refused_over_cap=202, idle_closed=203, "
           "accept_fd_exhausted=204",
           "Control socket: 1/16 connections, accepted=301, refused_over_cap=302, idle_closed=303, "
           "accept_fd_exhausted=304",
           "charon embedded (pid 4242), VICI link ready, required for L2TP",                   // ipsec
           "ike_terminated=37, tunnels_closed_for_sa=31, 1 SA(s)",                              //
           "198.51.100.7", "4501", "l2tpvpn[12]", "l2tp{34}", "AES_CBC-256/HMAC_SHA1_96",       // SA table
           "AES_CBC-128/HMAC_SHA2_256_128", "2.0K", "4.0K", "7003/7004",                         //
           "PPP: data path kernel, pool 10.99.0.10-10.99.0.250 (19 of 241 in use), pppd running 13",
           "sessions_started=101", "sessions_refused=102", "pppd_exits=103", "pppd_killed=41",   // counters
           "auth_failures=104", "report_errors=105", "pty_frames_in=106", "pty_frames_out=107",  //
           "pty_overflow_drops=108", "hdlc_bad_fcs=109", "hdlc_too_short=110", "hdlc_too_long=111",
           "hdlc_aborted=112", "sessions_over_limit=113", "pty_oversize_drops=114",
           "4321", "8765", "WIN-HOST", "established", "17", "7001",                              // tunnels
           "alice", "10.99.0.77", "ppp-l2tp5", "2026-12-01T18:00:00Z", "3.0M", "5.0K", "esp+nat-t",  // sessions
           "7002",
           "not_admitted=23",                                                                    // drops
       })
    EXPECT_TRUE(has(out, want)) << "missing \"" << want << "\" in:\n" << out;
}

TEST(StatusCliContract, TheSessionsTableReadsTheSessionsTheDaemonSends) {
  auto j = to_json(every_field_set());
  auto read = sessions_from_json(j["sessions"]);
  EXPECT_TRUE(read.unread.empty()) << cli::render_unread(read.unread);
  const std::string out = cli::render_sessions(read.value);
  for (const char* want : {"4321", "555", "alice", "10.99.0.77", "198.51.100.7:1701", "7002", "ppp-l2tp5", "kernel",
                           "up", "2026-12-01T18:00:00Z", "3.0M", "5.0K", "esp+nat-t"})
    EXPECT_TRUE(has(out, want)) << "missing \"" << want << "\" in:\n" << out;
  // No column left empty: every cell of the one row is filled.
  auto row = out.substr(out.find('\n') + 1);
  EXPECT_EQ(row.find(" - "), std::string::npos) << out;
}

}  // namespace
}  // namespace l2tpvpn
