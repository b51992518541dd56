#include "ppp/pppd_args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace l2tpvpn::ppp {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

PppdOptions base() {
  PppdOptions o;
  o.unit = 7;
  o.local_address = "10.99.0.1";
  o.remote_address = "10.99.0.10";
  o.dns = {"10.99.0.1", "9.9.9.9"};
  o.data_path = KernelDataPath{3, 100, 200, false, false, 0};
  return o;
}

// The words following `key` in argv (the option's arguments).
std::vector<std::string> after(const std::vector<std::string>& argv, const std::string& key, size_t n) {
  auto it = std::find(argv.begin(), argv.end(), key);
  if (it == argv.end() || static_cast<size_t>(argv.end() - it) <= n) return {};
  return {it + 1, it + 1 + static_cast<long>(n)};
}

TEST(PppdArgs, KernelDefaults) {
  auto r = build_pppd_args(base());
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& a = *r;
  EXPECT_EQ(a[0], "/usr/sbin/pppd");
  // pppol2tp.so is loaded before its options.
  EXPECT_THAT(std::vector<std::string>(a.begin() + 1, a.begin() + 10),
              ElementsAre("plugin", "pppol2tp.so", "pppol2tp", "3", "pppol2tp_lns_mode", "pppol2tp_tunnel_id", "100",
                          "pppol2tp_session_id", "200"));
  EXPECT_THAT(a, Not(Contains("pppol2tp_recv_seq")));
  EXPECT_THAT(after(a, "l2tpvpn_report_fd", 1), ElementsAre("4"));
  // Our plugin, loaded with its hang-up option (l2tpvpnd's SIGHUP means the L2TP session is gone).
  EXPECT_THAT(after(a, "l2tpvpn.so", 1), ElementsAre("l2tpvpn_sighup_is_hangup"));
  EXPECT_THAT(after(a, "ifname", 1), ElementsAre("ppp-l2tp7"));
  EXPECT_THAT(after(a, "ipparam", 1), ElementsAre("l2tpvpn-7"));
  EXPECT_THAT(after(a, "name", 1), ElementsAre("l2tpvpn"));
  EXPECT_THAT(a, Contains("nodetach"));
  EXPECT_THAT(a, Contains("auth"));
  EXPECT_THAT(a, Contains("require-mschap-v2"));
  EXPECT_THAT(a, Not(Contains("require-chap")));
  EXPECT_THAT(a, Not(Contains("require-pap")));
  EXPECT_THAT(a, Contains("refuse-eap"));
  EXPECT_THAT(a, Contains("nodefaultroute"));
  EXPECT_THAT(a, Contains("noproxyarp"));
  EXPECT_THAT(a, Contains("10.99.0.1:10.99.0.10"));
  EXPECT_THAT(after(a, "mtu", 1), ElementsAre("1350"));
  EXPECT_THAT(after(a, "mru", 1), ElementsAre("1350"));
  EXPECT_THAT(after(a, "lcp-echo-interval", 1), ElementsAre("30"));
  EXPECT_THAT(after(a, "lcp-echo-failure", 1), ElementsAre("4"));
  EXPECT_EQ(std::count(a.begin(), a.end(), "ms-dns"), 2);
  EXPECT_THAT(after(a, "ms-dns", 1), ElementsAre("10.99.0.1"));
  EXPECT_THAT(a, Not(Contains("debug")));
}

TEST(PppdArgs, OurPluginAfterPppol2tp) {
  auto o = base();
  o.plugin->secrets_path = "/etc/l2tpvpn/users";
  auto a = *build_pppd_args(o);
  auto p1 = std::find(a.begin(), a.end(), "pppol2tp.so");
  auto p2 = std::find(a.begin(), a.end(), "l2tpvpn.so");
  ASSERT_NE(p2, a.end());
  EXPECT_LT(p1, p2);
  EXPECT_EQ(*(p2 - 1), "plugin");
  EXPECT_THAT(after(a, "l2tpvpn_secrets", 1), ElementsAre("/etc/l2tpvpn/users"));
  o.plugin.reset();
  auto b = *build_pppd_args(o);
  EXPECT_THAT(b, Not(Contains("l2tpvpn.so")));
  EXPECT_THAT(b, Not(Contains("l2tpvpn_report_fd")));
}

TEST(PppdArgs, Sequencing) {
  auto o = base();
  o.data_path = KernelDataPath{5, 1, 2, true, true, 300};
  auto a = *build_pppd_args(o);
  EXPECT_THAT(after(a, "pppol2tp", 1), ElementsAre("5"));
  EXPECT_THAT(a, Contains("pppol2tp_recv_seq"));
  EXPECT_THAT(a, Contains("pppol2tp_send_seq"));
  EXPECT_THAT(after(a, "pppol2tp_reorderto", 1), ElementsAre("300"));
}

TEST(PppdArgs, PtyMode) {
  auto o = base();
  o.data_path = PtyDataPath{"/dev/pts/9"};
  auto a = *build_pppd_args(o);
  EXPECT_EQ(a[1], "/dev/pts/9");
  EXPECT_THAT(a, Contains("local"));
  EXPECT_THAT(a, Contains("nocrtscts"));
  EXPECT_THAT(a, Not(Contains("pppol2tp.so")));
}

TEST(PppdArgs, AuthPolicy) {
  auto o = base();
  o.auth = AuthPolicy{true, false, true, true};
  auto a = *build_pppd_args(o);
  EXPECT_THAT(a, Contains("require-mschap-v2"));
  EXPECT_THAT(a, Contains("require-chap"));
  EXPECT_THAT(a, Contains("require-pap"));
  EXPECT_THAT(a, Not(Contains("require-mschap")));
  o.auth = AuthPolicy{false, false, false, false};
  auto r = build_pppd_args(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, PppdArgsErrorCode::kNoAuthMethod);
}

TEST(PppdArgs, ProxyArpDebugIpparam) {
  auto o = base();
  o.proxyarp = true;
  o.debug = true;
  o.ipparam = "t100-s200";
  auto a = *build_pppd_args(o);
  EXPECT_THAT(a, Contains("proxyarp"));
  EXPECT_THAT(a, Contains("debug"));
  EXPECT_THAT(after(a, "ipparam", 1), ElementsAre("t100-s200"));
}

TEST(PppdArgs, NoSecretEverInArgv) {
  // The only secret-related words are the path of the store; no password-ish option exists in the builder.
  auto o = base();
  o.plugin->secrets_path = "/etc/l2tpvpn/users";
  auto argv = build_pppd_args(o);
  ASSERT_TRUE(argv);
  for (const auto& w : *argv) {
    EXPECT_NE(w, "password");
    EXPECT_NE(w, "passwordfd");
    EXPECT_EQ(w.find("secret="), std::string::npos);
  }
}

struct BadCase {
  const char* what;
  void (*mutate)(PppdOptions&);
  PppdArgsErrorCode code;
  const char* field;
};

TEST(PppdArgs, Validation) {
  const BadCase cases[] = {
      {"local not quad", [](PppdOptions& o) { o.local_address = "10.99.0"; }, PppdArgsErrorCode::kBadAddress,
       "local_address"},
      {"local zero", [](PppdOptions& o) { o.local_address = "0.0.0.0"; }, PppdArgsErrorCode::kBadAddress,
       "local_address"},
      {"remote hostname", [](PppdOptions& o) { o.remote_address = "client.example"; },
       PppdArgsErrorCode::kBadAddress, "remote_address"},
      {"same", [](PppdOptions& o) { o.remote_address = "10.99.0.1"; }, PppdArgsErrorCode::kBadAddress,
       "remote_address"},
      {"dns empty", [](PppdOptions& o) { o.dns = {"1.1.1.1", ""}; }, PppdArgsErrorCode::kBadDns, "dns[1]"},
      {"dns bad", [](PppdOptions& o) { o.dns = {"1.1.1"}; }, PppdArgsErrorCode::kBadDns, "dns[0]"},
      {"dns three", [](PppdOptions& o) { o.dns = {"1.1.1.1", "1.0.0.1", "8.8.8.8"}; }, PppdArgsErrorCode::kBadDns,
       "dns"},
      {"mtu small", [](PppdOptions& o) { o.mtu = 100; }, PppdArgsErrorCode::kBadMtu, "mtu"},
      {"mru big", [](PppdOptions& o) { o.mru = 9000; }, PppdArgsErrorCode::kBadMtu, "mru"},
      {"echo neg", [](PppdOptions& o) { o.lcp_echo_interval = -1; }, PppdArgsErrorCode::kBadLcpEcho,
       "lcp_echo_interval"},
      {"echo zero fail", [](PppdOptions& o) { o.lcp_echo_failure = 0; }, PppdArgsErrorCode::kBadLcpEcho,
       "lcp_echo_failure"},
      {"unit", [](PppdOptions& o) { o.unit = 10'000'000; }, PppdArgsErrorCode::kBadUnit, "unit"},
      {"name space", [](PppdOptions& o) { o.server_name = "my server"; }, PppdArgsErrorCode::kBadName,
       "server_name"},
      {"name empty", [](PppdOptions& o) { o.server_name = ""; }, PppdArgsErrorCode::kBadName, "server_name"},
      {"ipparam quote", [](PppdOptions& o) { o.ipparam = "a\"b"; }, PppdArgsErrorCode::kBadName, "ipparam"},
      {"fd stdio", [](PppdOptions& o) { o.data_path = KernelDataPath{0, 1, 1, false, false, 0}; },
       PppdArgsErrorCode::kBadFd, "data_path.fd"},
      {"report fd stdio", [](PppdOptions& o) { o.plugin->report_fd = 2; }, PppdArgsErrorCode::kBadFd,
       "plugin.report_fd"},
      {"report fd clash", [](PppdOptions& o) { o.plugin->report_fd = 3; }, PppdArgsErrorCode::kBadFd,
       "plugin.report_fd"},
      {"tty", [](PppdOptions& o) { o.data_path = PtyDataPath{"/tmp/pts"}; }, PppdArgsErrorCode::kBadPath,
       "data_path.tty_path"},
      {"tty dotdot", [](PppdOptions& o) { o.data_path = PtyDataPath{"/dev/../etc/passwd"}; },
       PppdArgsErrorCode::kBadPath, "data_path.tty_path"},
      {"secrets relative", [](PppdOptions& o) { o.plugin->secrets_path = "users"; }, PppdArgsErrorCode::kBadPath,
       "plugin.secrets_path"},
      {"pppd relative", [](PppdOptions& o) { o.pppd_path = "pppd"; }, PppdArgsErrorCode::kBadPath, "pppd_path"},
  };
  for (const auto& c : cases) {
    auto o = base();
    c.mutate(o);
    auto r = build_pppd_args(o);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what;
    EXPECT_EQ(r.error().field, c.field) << c.what;
  }
}

TEST(PppdArgs, InterfaceNameFitsIfnamsiz) {
  EXPECT_EQ(interface_name_for_unit(kMaxUnit).size(), 15u);  // IFNAMSIZ 16 with the NUL
  auto o = base();
  o.unit = kMaxUnit;
  EXPECT_TRUE(build_pppd_args(o));
}

}  // namespace
}  // namespace l2tpvpn::ppp
