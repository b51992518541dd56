#include "ppp/plugin_report.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::ppp {
namespace {

template <class T>
T body(std::string_view line) {
  auto r = parse_report_line(line);
  EXPECT_TRUE(r) << line << ": " << (r ? "" : r.error().to_string());
  if (!r) return T{};
  auto* p = std::get_if<T>(&r->body);
  EXPECT_NE(p, nullptr) << line;
  return p ? *p : T{};
}

ReportErrorCode error_of(std::string_view line) {
  auto r = parse_report_line(line);
  EXPECT_FALSE(r) << line;
  return r ? ReportErrorCode::kEmpty : r.error().code;
}

TEST(PluginReport, Events) {
  EXPECT_EQ(body<HelloEvent>("hello version=1 pppd=2.4.9 pid=7788"), (HelloEvent{1, "2.4.9", 7788}));
  EXPECT_EQ(body<PhaseEvent>("phase value=5 name=authenticate").phase, PppPhase::kAuthenticate);
  EXPECT_EQ(body<AuthEvent>("auth peer=alice").peer, "alice");
  EXPECT_EQ(body<AuthFailEvent>("auth-fail peer=mallory").peer, "mallory");
  EXPECT_EQ(body<AuthFailEvent>("auth-fail peer=a%20b").peer, "a b");
  EXPECT_EQ(body<IpUpEvent>("ip-up ifname=ppp-l2tp7 local=10.99.0.1 remote=10.99.0.10"),
            (IpUpEvent{"ppp-l2tp7", *parse_ipv4("10.99.0.1"), *parse_ipv4("10.99.0.10")}));
  EXPECT_EQ(body<IpDownEvent>("ip-down ifname=ppp-l2tp7").ifname, "ppp-l2tp7");
  EXPECT_EQ(body<StatsEvent>("stats bytes_in=1 bytes_out=2 packets_in=3 packets_out=4 connect_time=5"),
            (StatsEvent{1, 2, 3, 4, 5}));
  auto ex = body<ExitEvent>("exit status=11");
  EXPECT_EQ(ex.status, PppdExit::kPeerAuthFailed);
  EXPECT_EQ(ex.raw_status, 11);
}

TEST(PluginReport, PeerNameIsEscapedAndDecoded) {
  std::string hostile = "eve\nexit status=0 x=%y\x01\xff";
  std::string line = "auth peer=" + report_escape(hostile);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1);
  EXPECT_EQ(body<AuthEvent>(line).peer, hostile);
  EXPECT_EQ(body<AuthEvent>("auth peer=").peer, "");
  EXPECT_EQ(body<AuthEvent>("auth peer=a%2fb").peer, "a/b");  // lower-case hex accepted
}

TEST(PluginReport, UnknownKeysIgnoredDroppedCounted) {
  auto r = parse_report_line("auth peer=bob future=1 dropped=3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dropped_before, 3u);
  EXPECT_EQ(std::get<AuthEvent>(r->body).peer, "bob");
}

TEST(PluginReport, Errors) {
  EXPECT_EQ(error_of(""), ReportErrorCode::kEmpty);
  EXPECT_EQ(error_of("   "), ReportErrorCode::kEmpty);
  EXPECT_EQ(error_of("reboot now=1"), ReportErrorCode::kUnknownEvent);
  EXPECT_EQ(error_of("auth alice"), ReportErrorCode::kMalformed);
  EXPECT_EQ(error_of("auth =alice"), ReportErrorCode::kMalformed);
  EXPECT_EQ(error_of("auth peer=a peer=b"), ReportErrorCode::kMalformed);
  EXPECT_EQ(error_of("auth peer=%4"), ReportErrorCode::kMalformed);
  EXPECT_EQ(error_of("auth peer=%zz"), ReportErrorCode::kMalformed);
  EXPECT_EQ(error_of("auth"), ReportErrorCode::kMissingKey);
  EXPECT_EQ(error_of("phase value=13"), ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("phase value=x"), ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("ip-up ifname=p local=10.0.0.1 remote=10.0.0"), ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("ip-up ifname=p local=10.0.0.1"), ReportErrorCode::kMissingKey);
  EXPECT_EQ(error_of("stats bytes_in=1 bytes_out=2 packets_in=3 packets_out=-4 connect_time=5"),
            ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("hello version=0 pppd=2.4.9 pid=1"), ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("exit status=1x"), ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("auth peer=a dropped=x"), ReportErrorCode::kBadValue);
  EXPECT_EQ(error_of("auth peer=" + std::string(1100, 'a')), ReportErrorCode::kLineTooLong);
}

TEST(PluginReport, ErrorsDoNotEchoPeerText) {
  auto r = parse_report_line("auth peer=%zzSECRETISH");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string().find("SECRETISH"), std::string::npos);
}

TEST(ReportLineSplitter, SplitsAcrossReads) {
  ReportLineSplitter s;
  EXPECT_TRUE(s.feed("hello vers").empty());
  auto out = s.feed("ion=1 pppd=2.4.9 pid=1\nauth peer=a\nphase");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(*out[0], "hello version=1 pppd=2.4.9 pid=1");
  EXPECT_EQ(*out[1], "auth peer=a");
  EXPECT_EQ(s.buffered(), 5u);
  out = s.feed(" value=8 name=running\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(body<PhaseEvent>(*out[0]).phase, PppPhase::kRunning);
}

TEST(ReportLineSplitter, OverlongLineReportedOnceThenResyncs) {
  ReportLineSplitter s;
  auto out = s.feed(std::string(3000, 'x'));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0]);
  EXPECT_EQ(out[0].error().code, ReportErrorCode::kLineTooLong);
  EXPECT_LE(s.buffered(), kMaxReportLine);
  out = s.feed("xxx\nexit status=5\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(body<ExitEvent>(*out[0]).status, PppdExit::kUserRequest);
}

}  // namespace
}  // namespace l2tpvpn::ppp
