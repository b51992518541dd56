// What a finished pppd means for the L2TP session it carried.
//
// pppd reports why it ended only through its exit status (pppd(8) "EXIT STATUS", /usr/include/pppd/pppd.h
// EXIT_*). We never match log strings: the status integer becomes `PppdExit`, and a pure table maps it to what
// the LNS tells the LAC in the Call-Disconnect-Notify:
//   - the RFC 2661 §4.4.2 Result Code AVP (result + optional error code) and
//   - the RFC 3145 PPP Disconnect Cause Code AVP (disconnect code, control protocol number, direction).
// docs/ppp.md carries the same table for humans.
//
// Thread-safety: pure functions over value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace l2tpvpn::ppp {

// pppd(8) EXIT STATUS, values as in pppd.h. 20/21 exist in pppd 2.4.9's header (not yet in its man page).
enum class PppdExit : uint8_t {
  kOk = 0,                    // pppd detached / the link ended normally (e.g. peer sent LCP Terminate-Request)
  kFatalError = 1,            // immediately fatal error (e.g. out of memory, fork failed)
  kOptionError = 2,           // error in the options
  kNotRoot = 3,               // not setuid-root and invoked by a non-root user
  kNoKernelSupport = 4,       // the kernel does not support PPP (no /dev/ppp, no ppp_generic)
  kUserRequest = 5,           // terminated by SIGINT, SIGTERM or SIGHUP
  kLockFailed = 6,            // the serial port could not be locked
  kOpenFailed = 7,            // the serial port could not be opened
  kConnectFailed = 8,         // the connect script failed
  kPtyCommandFailed = 9,      // the pty command could not be run
  kNegotiationFailed = 10,    // PPP negotiation failed: no network protocol came up
  kPeerAuthFailed = 11,       // the peer failed to authenticate itself to us
  kIdleTimeout = 12,          // link idle for `idle` seconds
  kConnectTime = 13,          // `maxconnect` reached
  kCallback = 14,             // callback negotiated; an incoming call should arrive
  kPeerDead = 15,             // peer did not answer `lcp-echo-failure` LCP Echo-Requests
  kHangup = 16,               // the link was hung up underneath (for PPPoL2TP: the L2TP session went away)
  kLoopback = 17,             // loopback detected (our own magic number came back)
  kInitFailed = 18,           // the init script failed
  kAuthToPeerFailed = 19,     // we failed to authenticate ourselves to the peer
  kTrafficLimit = 20,         // `maxoctets` reached
  kCnidAuthFailed = 21,       // calling-number check failed
  kKilledBySignal = 254,      // ours, not pppd's: the process did not exit, a signal ended it
  kUnknown = 255,             // ours: an exit code pppd does not document
};

// How one pppd process ended: the decoded wait status.
struct PppdTermination {
  PppdExit exit = PppdExit::kUnknown;
  int raw_exit_code = -1;  // the exit code when the process exited, -1 when a signal ended it
  int signal = 0;          // the terminating signal when exit == kKilledBySignal, else 0
  bool core_dumped = false;
  bool operator==(const PppdTermination&) const = default;
};

// Any exit code; codes pppd does not define become kUnknown.
PppdExit pppd_exit_from_code(int code);
// A status as returned by waitpid(2). A stopped/continued status is not a termination: nullopt.
// SIGTERM/SIGINT/SIGHUP that pppd did not get to handle (it normally does and exits 5) are still signals here;
// `map_pppd_termination` treats them like kUserRequest.
std::optional<PppdTermination> pppd_termination_from_wait_status(int wait_status);
std::string_view to_string(PppdExit e);

// RFC 2661 §4.4.2 CDN result codes and general error codes we use (the numbers, so that this module stays
// independent of server/l2tp; the daemon copies them into l2tp::ResultCode).
inline constexpr uint16_t kCdnLostCarrier = 1;
inline constexpr uint16_t kCdnGeneralError = 2;
inline constexpr uint16_t kCdnAdministrative = 3;
inline constexpr uint16_t kCdnTemporaryResources = 4;
inline constexpr uint16_t kCdnPermanentResources = 5;
inline constexpr uint16_t kErrorNone = 0;
inline constexpr uint16_t kErrorInsufficientResources = 4;
inline constexpr uint16_t kErrorVendorSpecific = 6;

// PPP protocol numbers (RFC 1661 §2, RFC 1332, RFC 1334, RFC 1994) for RFC 3145's Control Protocol Number.
inline constexpr uint16_t kProtoNone = 0;
inline constexpr uint16_t kProtoLcp = 0xc021;
inline constexpr uint16_t kProtoPap = 0xc023;
inline constexpr uint16_t kProtoChap = 0xc223;  // also MS-CHAP and MS-CHAPv2 (CHAP algorithms 0x80/0x81)
inline constexpr uint16_t kProtoEap = 0xc227;
inline constexpr uint16_t kProtoIpcp = 0x8021;

// RFC 3145 §3 disconnect codes.
enum class DisconnectCode : uint16_t {
  kNoInformation = 0,
  kAdministrative = 1,
  kLcpRenegotiationDisabled = 2,
  kNormal = 3,                   // LCP Terminate-Request sent; direction = who initiated
  kCompulsoryEncryptionRefused = 4,
  kLcpFsmTimeout = 5,            // LCP negotiation did not converge / no answer
  kLcpNoRecognizablePackets = 6,
  kLcpMagicNumber = 7,           // magic number error: link probably looped back
  kLcpEchoTimeout = 8,
  kLcpBadEndpointDiscriminator = 9,
  kLcpBadMrru = 10,
  kLcpBadShortSeq = 11,
  kCallbackRefused = 12,
  kAuthFsmTimeout = 13,
  kAuthBadBundleName = 14,
  kAuthProtocolUnacceptable = 15,
  kAuthFailed = 16,              // bad name, password or secret
  kNcpFsmTimeout = 17,
  kNcpNoNcps = 18,
  kNcpAddressNotConverged = 19,
  kNcpAddressNotPermitted = 20,
};

// RFC 3145 §2 Direction. We read it as "which side detected the failure or initiated the disconnect", the
// reading RFC 3145 spells out for codes 19 and 20 ("1: local link address not acceptable to peer"): so our
// refusal of the user's credentials is kAtLocal, the peer refusing ours is kAtPeer.
enum class Direction : uint8_t { kGlobal = 0, kAtPeer = 1, kAtLocal = 2 };

struct CdnResult {  // RFC 2661 §4.4.2 Result Code AVP contents
  uint16_t result = 0;
  std::optional<uint16_t> error;
  std::string message;
  bool operator==(const CdnResult&) const = default;
};

struct DisconnectCause {  // RFC 3145 §2 PPP Disconnect Cause Code AVP contents
  DisconnectCode code = DisconnectCode::kNoInformation;
  uint16_t protocol = kProtoNone;
  Direction direction = Direction::kGlobal;
  std::string message;  // human-readable, sent as the AVP's optional text
  bool operator==(const DisconnectCause&) const = default;
};

struct SessionEndReason {
  CdnResult result;
  DisconnectCause cause;
  bool operator==(const SessionEndReason&) const = default;
};

// pppd's link phases (pppd.h PHASE_*), as the plugin reports them.
enum class PppPhase : uint8_t {
  kDead = 0,
  kInitialize = 1,
  kSerialConn = 2,
  kDormant = 3,
  kEstablish = 4,     // LCP
  kAuthenticate = 5,  // PAP/CHAP/EAP
  kCallback = 6,
  kNetwork = 7,  // NCPs (IPCP)
  kRunning = 8,  // an NCP is up
  kTerminate = 9,
  kDisconnect = 10,
  kHoldoff = 11,
  kMaster = 12,
};
std::optional<PppPhase> ppp_phase_from_int(int v);
std::string_view to_string(PppPhase p);

// What else we know besides the exit status (from the plugin's reports), to sharpen the cause. Both optional.
struct ExitContext {
  // The furthest phase the plugin reported before the link started to go down (terminate/disconnect/dead do
  // not count): kNegotiationFailed reached in kEstablish is LCP's failure, in kNetwork it is IPCP's.
  std::optional<PppPhase> last_phase;
  // The authentication protocol in use: CHAP unless PAP is the only one allowed.
  uint16_t auth_protocol = kProtoChap;
};

// The pure table. Never fails: an unknown status is a general error with "no information".
SessionEndReason map_pppd_termination(const PppdTermination& t, const ExitContext& ctx = {});

}  // namespace l2tpvpn::ppp
