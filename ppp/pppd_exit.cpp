#include "ppp/pppd_exit.hpp"

#include <sys/wait.h>

#include <csignal>

namespace l2tpvpn::ppp {

PppdExit pppd_exit_from_code(int code) {
  if (code >= 0 && code <= static_cast<int>(PppdExit::kCnidAuthFailed)) return static_cast<PppdExit>(code);
  return PppdExit::kUnknown;
}

std::optional<PppdTermination> pppd_termination_from_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) {
    int code = WEXITSTATUS(wait_status);
    return PppdTermination{pppd_exit_from_code(code), code, 0, false};
  }
  if (WIFSIGNALED(wait_status)) {
    return PppdTermination{PppdExit::kKilledBySignal, -1, WTERMSIG(wait_status), static_cast<bool>(WCOREDUMP(wait_status))};
  }
  return std::nullopt;  // stopped or continued
}

std::string_view to_string(PppdExit e) {
  switch (e) {
    case PppdExit::kOk: return "ok";
    case PppdExit::kFatalError: return "fatal-error";
    case PppdExit::kOptionError: return "option-error";
    case PppdExit::kNotRoot: return "not-root";
    case PppdExit::kNoKernelSupport: return "no-kernel-support";
    case PppdExit::kUserRequest: return "user-request";
    case PppdExit::kLockFailed: return "lock-failed";
    case PppdExit::kOpenFailed: return "open-failed";
    case PppdExit::kConnectFailed: return "connect-failed";
    case PppdExit::kPtyCommandFailed: return "pty-command-failed";
    case PppdExit::kNegotiationFailed: return "negotiation-failed";
    case PppdExit::kPeerAuthFailed: return "peer-auth-failed";
    case PppdExit::kIdleTimeout: return "idle-timeout";
    case PppdExit::kConnectTime: return "connect-time";
    case PppdExit::kCallback: return "callback";
    case PppdExit::kPeerDead: return "peer-dead";
    case PppdExit::kHangup: return "hangup";
    case PppdExit::kLoopback: return "loopback";
    case PppdExit::kInitFailed: return "init-failed";
    case PppdExit::kAuthToPeerFailed: return "auth-to-peer-failed";
    case PppdExit::kTrafficLimit: return "traffic-limit";
    case PppdExit::kCnidAuthFailed: return "cnid-auth-failed";
    case PppdExit::kKilledBySignal: return "killed-by-signal";
    case PppdExit::kUnknown: return "unknown";
  }
  return "unknown";
}

std::optional<PppPhase> ppp_phase_from_int(int v) {
  if (v >= 0 && v <= static_cast<int>(PppPhase::kMaster)) return static_cast<PppPhase>(v);
  return std::nullopt;
}

std::string_view to_string(PppPhase p) {
  switch (p) {
    case PppPhase::kDead: return "dead";
    case PppPhase::kInitialize: return "initialize";
    case PppPhase::kSerialConn: return "serialconn";
    case PppPhase::kDormant: return "dormant";
    case PppPhase::kEstablish: return "establish";
    case PppPhase::kAuthenticate: return "authenticate";
    case PppPhase::kCallback: return "callback";
    case PppPhase::kNetwork: return "network";
    case PppPhase::kRunning: return "running";
    case PppPhase::kTerminate: return "terminate";
    case PppPhase::kDisconnect: return "disconnect";
    case PppPhase::kHoldoff: return "holdoff";
    case PppPhase::kMaster: return "master";
  }
  return "unknown";
}

namespace {

SessionEndReason reason(uint16_t result, std::optional<uint16_t> error, DisconnectCode code, uint16_t protocol,
                        Direction dir, std::string message) {
  return SessionEndReason{CdnResult{result, error, message}, DisconnectCause{code, protocol, dir, message}};
}

// A failure on our side before or outside PPP negotiation: nothing the peer did. Temporary ones may succeed on a
// retry (RFC 2661 result 4), permanent ones are configuration or installation problems (result 5).
SessionEndReason local_failure(bool permanent, std::string message) {
  return reason(permanent ? kCdnPermanentResources : kCdnTemporaryResources, std::nullopt,
                DisconnectCode::kNoInformation, kProtoNone, Direction::kGlobal, std::move(message));
}

}  // namespace

SessionEndReason map_pppd_termination(const PppdTermination& t, const ExitContext& ctx) {
  // RFC 2661 §4.4.2 has no "PPP said goodbye" result: PPP-level failures of an established call are result 2
  // (general error) with error 0 and the detail in RFC 3145's AVP, which exists precisely because the L2TP
  // result codes cannot say it (RFC 3145 §1). Ends of a working session are result 1 (the virtual carrier —
  // the PPP link — went away) or 3 (we ended it: operator, idle/session limits).
  switch (t.exit) {
    case PppdExit::kOk:
      // pppd exits 0 when LCP was terminated normally; with `nodetach` and no `persist` that is the peer
      // logging off (a local termination comes from our SIGTERM and exits 5).
      return reason(kCdnLostCarrier, std::nullopt, DisconnectCode::kNormal, kProtoLcp, Direction::kAtPeer,
                    "PPP terminated by peer");
    case PppdExit::kUserRequest:
      return reason(kCdnAdministrative, std::nullopt, DisconnectCode::kAdministrative, kProtoNone,
                    Direction::kGlobal, "PPP terminated by the server");
    case PppdExit::kKilledBySignal:
      if (t.signal == SIGTERM || t.signal == SIGINT || t.signal == SIGHUP || t.signal == SIGKILL) {
        return reason(kCdnAdministrative, std::nullopt, DisconnectCode::kAdministrative, kProtoNone,
                      Direction::kGlobal, "PPP terminated by the server");
      }
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kNoInformation, kProtoNone, Direction::kGlobal,
                    "pppd crashed");
    case PppdExit::kNegotiationFailed: {
      bool in_ncp = ctx.last_phase && *ctx.last_phase >= PppPhase::kNetwork && *ctx.last_phase <= PppPhase::kRunning;
      bool in_auth = ctx.last_phase && *ctx.last_phase == PppPhase::kAuthenticate;
      if (in_ncp) {
        return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kNcpFsmTimeout, kProtoIpcp, Direction::kGlobal,
                      "IPCP negotiation failed");
      }
      if (in_auth) {
        return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kAuthFsmTimeout, ctx.auth_protocol,
                      Direction::kGlobal, "authentication did not complete");
      }
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kLcpFsmTimeout, kProtoLcp, Direction::kGlobal,
                    "LCP negotiation failed");
    }
    case PppdExit::kPeerAuthFailed:
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kAuthFailed, ctx.auth_protocol,
                    Direction::kAtLocal, "peer failed to authenticate");
    case PppdExit::kAuthToPeerFailed:
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kAuthFailed, ctx.auth_protocol,
                    Direction::kAtPeer, "we failed to authenticate to the peer");
    case PppdExit::kCnidAuthFailed:
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kAuthFailed, ctx.auth_protocol,
                    Direction::kAtLocal, "calling number not authorized");
    case PppdExit::kIdleTimeout:
      return reason(kCdnAdministrative, std::nullopt, DisconnectCode::kNormal, kProtoLcp, Direction::kAtLocal,
                    "idle timeout");
    case PppdExit::kConnectTime:
      return reason(kCdnAdministrative, std::nullopt, DisconnectCode::kNormal, kProtoLcp, Direction::kAtLocal,
                    "session time limit");
    case PppdExit::kTrafficLimit:
      return reason(kCdnAdministrative, std::nullopt, DisconnectCode::kNormal, kProtoLcp, Direction::kAtLocal,
                    "traffic limit");
    case PppdExit::kPeerDead:
      return reason(kCdnLostCarrier, std::nullopt, DisconnectCode::kLcpEchoTimeout, kProtoLcp, Direction::kAtLocal,
                    "peer not responding to LCP echo requests");
    case PppdExit::kHangup:
      return reason(kCdnLostCarrier, std::nullopt, DisconnectCode::kNoInformation, kProtoNone, Direction::kGlobal,
                    "data channel hung up");
    case PppdExit::kLoopback:
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kLcpMagicNumber, kProtoLcp, Direction::kAtLocal,
                    "loopback detected");
    case PppdExit::kCallback:
      return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kCallbackRefused, kProtoLcp, Direction::kAtLocal,
                    "callback is not supported");
    case PppdExit::kFatalError: return local_failure(false, "pppd fatal error");
    case PppdExit::kLockFailed: return local_failure(false, "pppd could not lock its device");
    case PppdExit::kOpenFailed: return local_failure(false, "pppd could not open its device");
    case PppdExit::kConnectFailed: return local_failure(false, "pppd connect script failed");
    case PppdExit::kPtyCommandFailed: return local_failure(false, "pppd pty command failed");
    case PppdExit::kInitFailed: return local_failure(false, "pppd init script failed");
    case PppdExit::kOptionError: return local_failure(true, "pppd rejected its options");
    case PppdExit::kNotRoot: return local_failure(true, "pppd lacks privileges");
    case PppdExit::kNoKernelSupport: return local_failure(true, "no PPP support in the kernel");
    case PppdExit::kUnknown: break;
  }
  return reason(kCdnGeneralError, kErrorNone, DisconnectCode::kNoInformation, kProtoNone, Direction::kGlobal,
                "pppd exited with an undocumented status");
}

}  // namespace l2tpvpn::ppp
