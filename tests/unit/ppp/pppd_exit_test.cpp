#include "ppp/pppd_exit.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

namespace l2tpvpn::ppp {
namespace {

TEST(PppdExit, CodesMatchPppdHeader) {
  // pppd.h EXIT_*: the numbers are the contract with pppd.
  EXPECT_EQ(pppd_exit_from_code(0), PppdExit::kOk);
  EXPECT_EQ(pppd_exit_from_code(5), PppdExit::kUserRequest);
  EXPECT_EQ(pppd_exit_from_code(10), PppdExit::kNegotiationFailed);
  EXPECT_EQ(pppd_exit_from_code(11), PppdExit::kPeerAuthFailed);
  EXPECT_EQ(pppd_exit_from_code(15), PppdExit::kPeerDead);
  EXPECT_EQ(pppd_exit_from_code(16), PppdExit::kHangup);
  EXPECT_EQ(pppd_exit_from_code(19), PppdExit::kAuthToPeerFailed);
  EXPECT_EQ(pppd_exit_from_code(21), PppdExit::kCnidAuthFailed);
  EXPECT_EQ(pppd_exit_from_code(22), PppdExit::kUnknown);
  EXPECT_EQ(pppd_exit_from_code(-1), PppdExit::kUnknown);
  EXPECT_EQ(pppd_exit_from_code(254), PppdExit::kUnknown);  // our own sentinel values are not pppd codes
}

TEST(PppdExit, EveryCodeHasAName) {
  for (int c = 0; c <= 21; ++c) EXPECT_NE(to_string(pppd_exit_from_code(c)), "unknown") << c;
}

// Real wait statuses from real children, not hand-built bit patterns.
int wait_status_of_child(int exit_code, int signal) {
  pid_t pid = fork();
  if (pid == 0) {
    if (signal) {
      ::signal(signal, SIG_DFL);
      ::raise(signal);
    }
    _exit(exit_code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(PppdExit, FromWaitStatusExited) {
  auto t = pppd_termination_from_wait_status(wait_status_of_child(11, 0));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit, PppdExit::kPeerAuthFailed);
  EXPECT_EQ(t->raw_exit_code, 11);
  EXPECT_EQ(t->signal, 0);
  auto u = pppd_termination_from_wait_status(wait_status_of_child(42, 0));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->exit, PppdExit::kUnknown);
  EXPECT_EQ(u->raw_exit_code, 42);
}

TEST(PppdExit, FromWaitStatusSignaled) {
  auto t = pppd_termination_from_wait_status(wait_status_of_child(0, SIGKILL));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit, PppdExit::kKilledBySignal);
  EXPECT_EQ(t->signal, SIGKILL);
  EXPECT_EQ(t->raw_exit_code, -1);
}

TEST(PppdExit, StoppedIsNotATermination) {
  // W_STOPCODE(SIGSTOP): what waitpid(WUNTRACED) reports for a stopped child.
  EXPECT_FALSE(pppd_termination_from_wait_status(W_STOPCODE(SIGSTOP)));
}

PppdTermination exited(int code) { return PppdTermination{pppd_exit_from_code(code), code, 0, false}; }

TEST(PppdExitMap, PeerAuthFailureIsAuthFailedDetectedLocally) {
  auto r = map_pppd_termination(exited(11));
  EXPECT_EQ(r.result.result, kCdnGeneralError);
  EXPECT_EQ(r.result.error, kErrorNone);
  EXPECT_EQ(r.cause.code, DisconnectCode::kAuthFailed);
  EXPECT_EQ(r.cause.protocol, kProtoChap);
  EXPECT_EQ(r.cause.direction, Direction::kAtLocal);
  auto pap = map_pppd_termination(exited(11), ExitContext{std::nullopt, kProtoPap});
  EXPECT_EQ(pap.cause.protocol, kProtoPap);
  EXPECT_EQ(map_pppd_termination(exited(19)).cause.direction, Direction::kAtPeer);
}

TEST(PppdExitMap, EchoTimeoutIsLostCarrier) {
  auto r = map_pppd_termination(exited(15));
  EXPECT_EQ(r.result.result, kCdnLostCarrier);
  EXPECT_FALSE(r.result.error);
  EXPECT_EQ(r.cause.code, DisconnectCode::kLcpEchoTimeout);
  EXPECT_EQ(r.cause.protocol, kProtoLcp);
}

TEST(PppdExitMap, NormalEndsAndAdministrativeEnds) {
  auto ok = map_pppd_termination(exited(0));
  EXPECT_EQ(ok.result.result, kCdnLostCarrier);
  EXPECT_EQ(ok.cause.code, DisconnectCode::kNormal);
  EXPECT_EQ(ok.cause.direction, Direction::kAtPeer);
  auto term = map_pppd_termination(exited(5));
  EXPECT_EQ(term.result.result, kCdnAdministrative);
  EXPECT_EQ(term.cause.code, DisconnectCode::kAdministrative);
  auto idle = map_pppd_termination(exited(12));
  EXPECT_EQ(idle.result.result, kCdnAdministrative);
  EXPECT_EQ(idle.cause.code, DisconnectCode::kNormal);
  EXPECT_EQ(idle.cause.direction, Direction::kAtLocal);
}

TEST(PppdExitMap, NegotiationFailureUsesPhase) {
  EXPECT_EQ(map_pppd_termination(exited(10)).cause.protocol, kProtoLcp);
  EXPECT_EQ(map_pppd_termination(exited(10)).cause.code, DisconnectCode::kLcpFsmTimeout);
  auto ncp = map_pppd_termination(exited(10), ExitContext{PppPhase::kNetwork, kProtoChap});
  EXPECT_EQ(ncp.cause.code, DisconnectCode::kNcpFsmTimeout);
  EXPECT_EQ(ncp.cause.protocol, kProtoIpcp);
  auto auth = map_pppd_termination(exited(10), ExitContext{PppPhase::kAuthenticate, kProtoChap});
  EXPECT_EQ(auth.cause.code, DisconnectCode::kAuthFsmTimeout);
}

TEST(PppdExitMap, LocalFailuresAreResourceResults) {
  EXPECT_EQ(map_pppd_termination(exited(2)).result.result, kCdnPermanentResources);
  EXPECT_EQ(map_pppd_termination(exited(4)).result.result, kCdnPermanentResources);
  EXPECT_EQ(map_pppd_termination(exited(1)).result.result, kCdnTemporaryResources);
  EXPECT_EQ(map_pppd_termination(exited(7)).result.result, kCdnTemporaryResources);
}

TEST(PppdExitMap, Signals) {
  PppdTermination term{PppdExit::kKilledBySignal, -1, SIGTERM, false};
  EXPECT_EQ(map_pppd_termination(term).result.result, kCdnAdministrative);
  PppdTermination segv{PppdExit::kKilledBySignal, -1, SIGSEGV, true};
  auto r = map_pppd_termination(segv);
  EXPECT_EQ(r.result.result, kCdnGeneralError);
  EXPECT_EQ(r.cause.code, DisconnectCode::kNoInformation);
}

TEST(PppdExitMap, EveryStatusMapsToAValidResult) {
  // RFC 2661 §4.4.2: CDN result codes 1..11 are defined; we use 1..5. RFC 3145 codes are 0..20.
  for (int c = -1; c <= 30; ++c) {
    auto r = map_pppd_termination(exited(c));
    EXPECT_GE(r.result.result, 1) << c;
    EXPECT_LE(r.result.result, 5) << c;
    EXPECT_LE(static_cast<int>(r.cause.code), 20) << c;
    EXPECT_FALSE(r.cause.message.empty()) << c;
    // Result 2 ("see error code") always carries an error code.
    if (r.result.result == kCdnGeneralError) {
      EXPECT_TRUE(r.result.error) << c;
    }
  }
}

TEST(PppPhase, FromInt) {
  EXPECT_EQ(ppp_phase_from_int(8), PppPhase::kRunning);
  EXPECT_FALSE(ppp_phase_from_int(13));
  EXPECT_EQ(to_string(PppPhase::kAuthenticate), "authenticate");
}

}  // namespace
}  // namespace l2tpvpn::ppp
