// The argv of one pppd, built from a typed description of the session (pure).
//
// One pppd runs per L2TP session. It authenticates the user (MS-CHAPv2 by default), runs IPCP with the address
// the pool chose, and moves data either in the kernel (PPPoL2TP socket, pppd's pppol2tp.so plugin) or through a
// pty the daemon feeds (userspace fallback). docs/ppp.md explains every option; the short version:
//   - `nodetach`: pppd stays our child, so waitpid() gives its exit status (pppd_exit.hpp).
//   - `ifname ppp-l2tp<N>` and `ipparam`: one unique interface name and script tag per session.
//   - no secrets in argv or environment: they come from our plugin (`l2tpvpn_secrets <file>`) or chap-secrets.
//   - `plugin l2tpvpn.so l2tpvpn_report_fd <fd>`: our plugin reports phase, peer name, addresses and counters;
//     `l2tpvpn_sighup_is_hangup`: l2tpvpnd's SIGHUP (sent once the L2TP session is closed) ends pppd at once.
// File descriptors named here (PPPoL2TP socket, report fd) are the numbers *in the child*: the launcher moves
// the daemon's descriptors there (pppd_launcher.hpp); kPppol2tpChildFd / kReportChildFd are the usual ones.
//
// Thread-safety: pure function over value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace l2tpvpn::ppp {

inline constexpr int kPppol2tpChildFd = 3;
inline constexpr int kReportChildFd = 4;

// MTU/MRU that fits through ESP in UDP (NAT-T) on a 1500-byte path, worst case over the suites we accept.
// Per packet, outside the PPP payload (the MTU):
//   outer IPv4 20 + UDP 8 (NAT-T, RFC 3948)                          = 28
//   ESP header: SPI 4 + sequence 4 (RFC 4303 §2)                      =  8
//   IV: 16 (AES-CBC; 8 for 3DES and AES-GCM)                          = 16
//   ICV: 12 (HMAC-SHA1-96); 16 (SHA-256-128, GCM); 32 (SHA-512-256)   = 12..32
//   encrypted part, padded to the cipher block (16 for AES-CBC):
//     inner IPv4 20 + UDP 8 + L2TP header 6..16 (flags/version, tunnel, session; + length 2, Ns/Nr 4,
//     offset size 2 when present, RFC 2661 §3.1) + PPP 4 (address/control FF 03 + protocol 2; the kernel
//     always sends FF 03) + ESP trailer (pad length 1 + next header 1) + padding 0..15
// AES-CBC + HMAC-SHA1-96: 64 + roundup16(MTU + 50) <= 1500  =>  MTU + 50 <= 1424  =>  MTU <= 1374.
// AES-CBC + SHA-512-256 (ICV 32): 84 + roundup16(MTU + 50) <= 1500  =>  MTU <= 1358.
// 3DES + SHA1 (block 8, IV 8): 56 + roundup8(MTU + 50) <= 1500  =>  MTU <= 1390.
// 1350 fits all of them with a little room (and the same numbers hold on a 1492-byte PPPoE path for AES-CBC,
// since 1492 - 64 = 1428 rounds down to the same 1424). A larger MTU makes the client's packets fragment
// after encryption, which many NATs and carriers drop.
inline constexpr int kDefaultMtu = 1350;
inline constexpr int kDefaultMru = 1350;

// pppd's own limits (lcp.c: MRU is at least 128; we cap at the 1500 Ethernet MTU since anything above cannot
// cross the path without fragmentation).
inline constexpr int kMinMtu = 128;
inline constexpr int kMaxMtu = 1500;

// Which authentication protocols we require of the peer (at least one). pppd offers them in its own order of
// preference (MS-CHAPv2, MS-CHAP, CHAP-MD5, then PAP); we never authenticate ourselves to the peer.
struct AuthPolicy {
  bool mschap_v2 = true;
  bool mschap = false;  // MS-CHAPv1: broken crypto; off unless a legacy client needs it
  bool chap_md5 = false;
  bool pap = false;  // cleartext inside PPP; only acceptable because ESP encrypts the link
};

// Kernel data path: pppd's pppol2tp.so plugin drives a PPPoL2TP session socket the daemon created and connected
// (server/kernel). RFC 2661 §5.4: the LNS decides about sequencing; recv_seq/send_seq turn it on in the kernel.
struct KernelDataPath {
  int fd = kPppol2tpChildFd;  // the PPPoL2TP session socket, as numbered in the child
  uint16_t tunnel_id = 0;     // our local IDs (informational for pppd: scripts and logs)
  uint16_t session_id = 0;
  bool recv_seq = false;  // drop/reorder by Ns on receive (pppol2tp_recv_seq)
  bool send_seq = false;  // send Ns/Nr in data messages (pppol2tp_send_seq)
  int reorder_timeout_ms = 0;  // 0: no reordering (pppol2tp_reorderto)
};

// Userspace fallback: the daemon opens a pty pair, keeps the master and hands pppd the slave as its serial
// device by path; pppd opens it itself (like any tty) and speaks async HDLC (RFC 1662) on it. The daemon
// (de)frames between the pty master and L2TP data messages. We pass the path rather than making the slave
// pppd's stdin, because with a device argument pppd's tty handling (local, no modem lines) is explicit.
struct PtyDataPath {
  std::string tty_path;  // e.g. /dev/pts/7; must be under /dev/
};

using DataPath = std::variant<KernelDataPath, PtyDataPath>;

// Our pppd plugin (ppp/plugin/l2tpvpn_plugin.c).
struct PluginOptions {
  std::string path = "l2tpvpn.so";  // no '/': pppd looks in its plugin directory (/usr/lib/pppd/<version>)
  int report_fd = kReportChildFd;   // -1: no reports
  // The user store the plugin answers CHAP/PAP secret lookups from. Unset: pppd falls back to its
  // chap-secrets/pap-secrets files (which user_store.hpp can manage).
  std::optional<std::string> secrets_path;
};

struct PppdOptions {
  std::string pppd_path = "/usr/sbin/pppd";  // argv[0]
  uint32_t unit = 0;  // unique per live session: ifname ppp-l2tp<unit>, default ipparam l2tpvpn-<unit>
  std::string server_name = "l2tpvpn";  // pppd `name`: our name in CHAP, and the chap-secrets server column
  std::string local_address;            // our side of the point-to-point link, dotted quad
  std::string remote_address;           // the peer's address from the pool, dotted quad
  std::vector<std::string> dns;         // ms-dns (RFC 1877), at most 2, dotted quads
  AuthPolicy auth;
  int mtu = kDefaultMtu;
  int mru = kDefaultMru;
  int lcp_echo_interval = 30;  // seconds; 0 disables LCP echo
  int lcp_echo_failure = 4;    // unanswered echoes before pppd gives up (exit 15)
  bool proxyarp = false;  // answer ARP for the peer on the LAN (when the pool is inside a LAN subnet)
  std::optional<std::string> ipparam;  // default "l2tpvpn-<unit>"
  DataPath data_path = KernelDataPath{};
  std::optional<PluginOptions> plugin = PluginOptions{};
  bool debug = false;  // pppd `debug`: logs packets, never secrets (pppd hides them with hide-password)
};

enum class PppdArgsErrorCode {
  kBadAddress,       // local/remote not a dotted quad, or 0.0.0.0, or local == remote
  kBadDns,           // empty, not a dotted quad, or more than 2
  kNoAuthMethod,     // every method disabled
  kBadMtu,           // mtu/mru outside [kMinMtu, kMaxMtu]
  kBadLcpEcho,       // negative, or failure 0 with an interval
  kBadUnit,          // ifname ppp-l2tp<unit> would not fit IFNAMSIZ
  kBadName,          // server name / ipparam: empty, too long, or not [A-Za-z0-9._-]
  kBadFd,            // data path / report fd below 3 (0-2 are stdio)
  kBadPath,          // pppd path or secrets path not absolute, tty path not under /dev/, plugin path empty
};

struct PppdArgsError {
  PppdArgsErrorCode code;
  std::string field;  // the PppdOptions member at fault, e.g. "dns[1]"
  std::string message;
  std::string to_string() const;  // "FIELD: MESSAGE"
};

// The longest unit: "ppp-l2tp" (8) + 7 digits = 15 = IFNAMSIZ - 1.
inline constexpr uint32_t kMaxUnit = 9'999'999;
std::string interface_name_for_unit(uint32_t unit);  // "ppp-l2tp<unit>"

// Validates and builds argv (argv[0] = pppd_path). Errors: PppdArgsError naming the field.
Result<std::vector<std::string>, PppdArgsError> build_pppd_args(const PppdOptions& options);

}  // namespace l2tpvpn::ppp
