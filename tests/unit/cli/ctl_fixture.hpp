// The fixture of the l2tpvpnctl command tests: a temporary directory with a configuration and a users file, a
// fake daemon that records requests and answers by command, a seeded random source and a settable default route;
// run() drives run_ctl with string streams.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/ctl.hpp"
#include "ppp/user_store.hpp"

namespace l2tpvpn::cli::testing {

using nlohmann::json;

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Records every request; answers from `replies` by command ({"ok": true} when none is set), or reports the
// daemon as not running.
struct FakeDaemon {
  bool running = true;
  std::vector<std::pair<std::string, json>> requests;  // (socket, request)
  std::map<std::string, json> replies;

  ControlReply operator()(const std::string& socket, const json& request) {
    requests.emplace_back(socket, request);
    if (!running) return ControlReply{ControlFailure::kNotRunning, json(), "cannot connect to " + socket};
    auto it = replies.find(request.value("cmd", ""));
    return ControlReply{ControlFailure::kNone, it == replies.end() ? json{{"ok", true}} : it->second, {}};
  }
  std::vector<json> sent() const {
    std::vector<json> out;
    for (const auto& [s, r] : requests) out.push_back(r);
    return out;
  }
};

struct CtlRun {
  int rc;
  std::string out, err;
};

class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-ctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    users_ = dir_ + "/users";
    socket_ = dir_ + "/control.sock";
    write_config("[ipsec]\npsk = sup3r-s3cret-psk\n[server]\npublic_address = vpn.example.com\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_config(const std::string& extra) {
    config_ = dir_ + "/l2tpvpnd.conf";
    {
      std::ofstream f(config_);
      f << "[control]\nsocket = " << socket_ << "\n[users]\nfile = " << users_ << "\n" << extra;
    }
    // It may hold the PSK inline: a configuration with a secret must be private (server/config_file).
    std::filesystem::permissions(config_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

  CtlRun run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"-c", config_});
    return run_raw(args, stdin_text);
  }
  CtlRun run_raw(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::ostringstream out, err;
    std::istringstream in(stdin_text);
    CtlEnv env{out,
               err,
               in,
               [this](const std::string& s, const json& r) { return daemon_(s, r); },
               [this](std::span<uint8_t> b) {
                 for (auto& x : b) x = static_cast<uint8_t>(rng_());
                 return true;
               },
               [this] { return route_; }};
    int rc = run_ctl(args, env);
    return CtlRun{rc, out.str(), err.str()};
  }

  ppp::UserStore users() {
    auto s = ppp::UserStore::load(users_);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? *s : ppp::UserStore{};
  }

  // The password printed on the "password: " line of `out`.
  static std::string printed_password(const std::string& out) {
    auto p = out.find("password: ");
    if (p == std::string::npos) return {};
    p += 10;
    return out.substr(p, out.find('\n', p) - p);
  }

  std::string dir_, users_, socket_, config_;
  FakeDaemon daemon_;
  std::mt19937 rng_{42};
  std::optional<std::string> route_ = "203.0.113.7";
};

// A status document with every section (docs/status.md), as the daemon answers {"cmd":"status"}.
inline constexpr const char* kSampleStatus = R"({
  "ok": true,
  "server": {"version": "0.1.0", "uptime_s": 3725, "l2tp_listen": "0.0.0.0:1701"},
  "ipsec": {"required": true, "charon": "embedded", "vici_socket": "/run/l2tpvpn/charon.vici", "link": "ready",
            "charon_pid": 812, "future": {"x": 1},
            "sas": [{"remote": "198.51.100.9", "remote_port": 4500, "nat": true, "ike_sa": "l2tpvpn", "child_sa": "l2tp",
                     "ike_proposal": "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048",
                     "esp_proposal": "AES_CBC-256/HMAC_SHA1_96", "bytes_in": 2048, "bytes_out": 4096,
                     "mark_in": 3, "mark_out": 3}]},
  "ppp": {"data_path": "kernel", "pool": {"range": "10.99.0.10-10.99.0.250", "server_address": "10.99.0.1",
          "capacity": 241, "in_use": 1}, "pppd_running": 2,
          "counters": {"sessions_started": 5, "auth_failures": 1, "hdlc_bad_fcs": 0}},
  "l2tp": {
    "tunnels": [{"id": 17, "peer_id": 5, "peer": "198.51.100.9:1701", "peer_mark": 3, "peer_host_name": "WIN-PC",
                 "state": "established",
                 "sessions": [{"id": 3, "peer_id": 1, "state": "established"}], "control": {"retransmissions": 4}}],
    "drops": {"no_sa": 7}
  },
  "sessions": [
    {"tunnel": 17, "session": 3, "peer_tunnel": 5, "peer_session": 1, "peer": "198.51.100.9:1701", "peer_mark": 3,
     "user": "alice",
     "address": "10.99.0.10", "interface": "ppp0", "data_path": "kernel", "state": "up",
     "since": "2024-05-01T10:00:00Z", "pppd_pid": 1234, "bytes_in": 1536, "bytes_out": 3145728,
     "packets_in": 10, "packets_out": 20,
     "ipsec": {"nat": true, "remote_port": 4500, "ike_proposal": "AES_CBC-256/HMAC_SHA1_96/MODP_2048",
               "esp_proposal": "AES_CBC-256/HMAC_SHA1_96"}},
    {"tunnel": 17, "session": 4, "user": null, "state": "authenticating", "ipsec": null}
  ]
})";

}  // namespace l2tpvpn::cli::testing
