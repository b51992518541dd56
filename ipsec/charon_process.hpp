// The embedded charon: l2tpvpnd's own strongSwan IKE daemon, started when no charon answers on the configured
// VICI socket ([ipsec] charon = auto/embedded).
//
// Two parts:
//   - pure: render_strongswan_conf() turns EmbeddedCharonOptions into a private, minimal strongswan.conf, and
//     RestartBackoff says when to start charon again after it exited;
//   - I/O: EmbeddedCharon writes that file (0600, in a runtime dir of ours) and posix_spawns charon with
//     STRONGSWAN_CONF pointing at it (no shell; common/os/spawn's spawn_process), knows its pid, reaps it
//     without blocking (poll()), and stops it (stop(): SIGTERM, then SIGKILL after a deadline; common/os/stop).
//
// The rendered file (strongswan.conf(5) syntax; nothing of /etc/strongswan.conf or /etc/strongswan.d is read,
// so a host's strongSwan configuration cannot change ours):
//   charon {
//     load_modular = no, load = <plugins>    exactly kCharonPlugins (+ extra_plugins), in order
//     port / port_nat_t                        IKE and NAT-T ports (0 = any free port, for tests)
//     install_routes = no                      transport mode needs no routes (RFC 3193: host to host)
//     install_virtual_ip = no                  pppd assigns the client's address, not IKE
//     routing_table = 0                        no policy-routing rule for table 220 either (charon adds that
//                                              rule even with install_routes = no)
//     retransmit_tries/timeout/base/limit      IKEv1 responder retransmissions (a client that vanished mid-
//                                              handshake is given up after ~90 s instead of ~165 s)
//     keep_alive                               NAT-T keepalives so a client's NAT mapping stays open
//     half_open_timeout                        half-open IKE_SAs (spoofed or vanished initiators) dropped
//     plugins.vici.socket = unix://<path>      our control socket
//     filelog.stderr                           the log goes to charon's stderr (the daemon's: the journal);
//                                              with a filelog configured charon sets up no syslog logger
//   }
//
// The plugin list (kCharonPlugins), in precedence order (a plugin listed earlier wins for a feature two plugins
// provide). It is the minimum for IKEv1 main mode with PSK or X.509 and every proposal of ipsec/profile, checked
// against charon 5.9.8 by tests/charon/embedded_charon_test.cpp (PSK + RSA/ECDSA certificate profiles with
// PKCS#1, SEC1 and PKCS#8 keys) and tests/uml/scenarios/ipsec_profiles.sh (real SAs with each OS's proposals):
//   nonce           IKE nonces (Ni/Nr)
//   pem             PEM decoding: certificates (load-conn certs/cacerts) and keys (load-key) arrive as PEM;
//                   without it every certificate profile fails to load
//   x509            strongSwan's own, complete X.509 parser (basic, name and policy constraints, policy
//                   mappings: what `constraints` checks), listed before openssl so it is the one used; openssl's
//                   parser alone loads the test certificates too, but is not the reference implementation
//   constraints     path length, name and policy constraints of the client CA chain (certificate profiles)
//   openssl         all crypto: AES-CBC, 3DES, SHA-1/SHA-2 HMAC and PRF, MODP and ECP Diffie-Hellman, RSA and
//                   ECDSA signatures and keys (PKCS#1, SEC1, PKCS#8), and the RNGs (RAND_bytes)
//   kernel-netlink  installs the SAs and transport policies in the kernel (XFRM)
//   socket-default  the IKE sockets (UDP 500 and 4500, with NAT-T encapsulation)
//   vici            our control channel
// Left out on purpose: random (openssl's RNG serves every quality; `random` would read /dev/random),
// updown (we learn about SAs from VICI events; the updown script would touch iptables), attr/resolve/xauth-*/
// eap-* (no virtual IPs or IKE-level user auth: PPP does that), stroke (no ipsec.conf), revocation and curl (no
// CRL is loaded and nothing may be fetched: with revocation but no fetcher every certificate check only adds a
// failed fetch), pkcs1/pkcs8/pubkey/sha1/sha2/aes/des/hmac/gmp (covered by openssl), kdf (IKEv2's PRF+, not
// used by IKEv1), kernel-libipsec and bypass-lan (would change the data path).
// extra_plugins adds to the list for operators who need more (e.g. "revocation curl").
//
// The pid file: charon 5.9 writes /var/run/charon.pid, a path compiled in (IPSEC_PIDDIR); neither
// strongswan.conf nor the environment moves it, and charon refuses to start while the file names a live process.
// The file is therefore charon's "one per mount namespace" lock (which matches the ports: two IKE daemons cannot
// share UDP 500 anyway). start() reads it first: a live charon that is not ours is reported (kAlreadyRunning:
// it does not answer on our VICI socket, so the operator must point system_vici_socket at it or stop it); a
// file left by a killed charon whose pid now belongs to another process is removed (charon would otherwise
// refuse to start forever). Tests that run several charons use private mount namespaces (a tmpfs on /run).
//
// Lifetime: charon runs in its own process group and survives l2tpvpnd if l2tpvpnd is killed (posix_spawn
// cannot set a parent-death signal). At l2tpvpnd's next start, start() then reports kAlreadyRunning with that
// charon's pid and the daemon decides (its SAs belong to tunnels nobody serves any more: stop it, start afresh).
// stop() ends charon on a clean shutdown; charon deletes its SAs (sending DELETEs to the clients) on SIGTERM.
// After a SIGKILL (a crash) the kernel keeps the dead charon's SAs and policies until their lifetime ends; a new
// charon neither knows nor removes them, and clients re-establish on their own (DPD, or when they rekey).
//
// Thread-safety: none; one thread (the daemon's event loop) owns an EmbeddedCharon.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace l2tpvpn::ipsec {

// The plugins charon loads, in order (see above for why each is there).
inline constexpr const char* kCharonPlugins[] = {
    "nonce", "pem", "x509", "constraints", "openssl", "kernel-netlink", "socket-default", "vici"};

struct EmbeddedCharonOptions {
  std::string charon_path = "/usr/lib/ipsec/charon";
  std::string runtime_dir = "/run/l2tpvpn";                 // holds charon.conf (created 0700 if missing)
  std::string vici_socket = "/run/l2tpvpn/charon.vici";     // absolute, < 108 bytes (sun_path)
  std::string pid_file = "/var/run/charon.pid";             // where charon writes it (not configurable there)
  uint16_t port = 500;                                      // 0: any free port
  uint16_t port_nat_t = 4500;                               // 0: any free port; must differ from port
  int log_level = 1;                                        // strongSwan levels: -1 silent .. 4 raw
  std::vector<std::pair<std::string, int>> log_subsystems;  // overrides, e.g. {"ike", 2}, {"knl", 2}
  bool log_timestamps = false;             // prefix lines with the time (HH:MM:SS.mmm); the journal adds its own
  std::vector<std::string> extra_plugins;  // appended to kCharonPlugins
  unsigned retransmit_tries = 4;           // IKE retransmissions before giving up
  std::chrono::milliseconds retransmit_timeout{4000};  // first retransmission after this
  double retransmit_base = 1.8;                        // each one waits base times longer,
  std::chrono::seconds retransmit_limit{60};           // but at most this long
  std::chrono::seconds keep_alive{20};                 // NAT-T keepalive interval
  std::chrono::seconds half_open_timeout{30};          // half-open IKE_SAs are dropped after this
  int stderr_fd = 2;  // charon's stdout+stderr (its log) go here; -1: /dev/null. Not rendered.
};

struct CharonError {
  enum class Kind : uint8_t {
    kInvalidOptions,  // a field of EmbeddedCharonOptions (field names it)
    kRuntimeDir,      // the runtime dir cannot be created or is not a directory
    kWriteConfig,     // charon.conf could not be written
    kAlreadyRunning,  // the pid file names a live charon that is not ours (pid says which)
    kRunning,         // start() while ours still runs
    kSpawn,           // posix_spawn failed (errno in detail)
  };
  Kind kind = Kind::kInvalidOptions;
  std::string field;  // kInvalidOptions: the options member
  std::string detail;
  pid_t pid = 0;  // kAlreadyRunning
  std::string to_string() const;
};
const char* to_string(CharonError::Kind k);

// Errors: kInvalidOptions naming the field (paths absolute and free of whitespace, quotes, braces, '#', ',' and
// '='; socket path shorter than 108 bytes; distinct non-zero ports; log levels -1..4 and known subsystem names;
// plugin names [a-z0-9-]; retransmission values positive).
Status<CharonError> validate(const EmbeddedCharonOptions& options);

// The whole strongswan.conf. Errors: validate()'s.
Result<std::string, CharonError> render_strongswan_conf(const EmbeddedCharonOptions& options);

// The plugins rendered into `load` (kCharonPlugins + extra_plugins, duplicates dropped).
std::vector<std::string> charon_plugins(const EmbeddedCharonOptions& options);

// The pid in a pid file's text ("1234\n"), nullopt for anything else.
std::optional<pid_t> parse_pid_file(std::string_view text);

// How a charon process ended (from its wait status).
struct CharonExit {
  int exit_code = -1;  // when it exited; -1 when a signal ended it
  int signal = 0;      // the terminating signal, 0 when it exited
  bool operator==(const CharonExit&) const = default;
  std::string to_string() const;  // "exit 0", "signal 9 (Killed)"
};

// When to restart charon after it exited: after `initial`, doubling for every exit that follows a short run
// (< `stable`), up to `max`; a run of at least `stable` resets the delay. Pure: time is passed in.
struct RestartPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{60000};
  std::chrono::milliseconds stable{60000};
};
class RestartBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RestartBackoff(RestartPolicy policy = {}) : policy_(policy), delay_(policy.initial) {}
  void on_started(Clock::time_point now) { started_ = now; }
  // charon exited at `now`: the time to start it again.
  Clock::time_point on_exited(Clock::time_point now);
  std::chrono::milliseconds next_delay() const { return delay_; }
  uint32_t quick_exits() const { return quick_exits_; }  // exits in a row after runs shorter than `stable`

 private:
  RestartPolicy policy_;
  std::chrono::milliseconds delay_;
  std::optional<Clock::time_point> started_;
  uint32_t quick_exits_ = 0;
};

// True if something accepts a connection on the unix socket `path` now (a non-blocking connect(2); nothing is
// sent). The daemon's "auto" mode asks this of the system socket before deciding to embed.
bool unix_socket_answers(const std::string& path);

class EmbeddedCharon {
 public:
  explicit EmbeddedCharon(EmbeddedCharonOptions options);
  ~EmbeddedCharon();  // stop() if still running
  EmbeddedCharon(const EmbeddedCharon&) = delete;
  EmbeddedCharon& operator=(const EmbeddedCharon&) = delete;

  // Validates, creates runtime_dir (0700) if missing, writes <runtime_dir>/charon.conf (0600, atomically),
  // checks the pid file, and spawns charon with STRONGSWAN_CONF set (no other environment but PATH). Returns
  // once charon has been exec'd; it is ready when it answers on vici_socket (the vici::Client retries until
  // then). Errors: every CharonError::Kind.
  Status<CharonError> start();

  // Non-blocking: if charon has ended, reaps it and returns how, once; nullopt while it runs (or was never
  // started). Call it on SIGCHLD or from a periodic timer.
  std::optional<CharonExit> poll();

  // SIGTERM to charon's process group, waits until `grace` passes, then SIGKILL; always reaps. Blocking (at most
  // `grace` plus the SIGKILL's reaping): the one wait of this class, for shutdown. nullopt if it was not running.
  std::optional<CharonExit> stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // 0 when not running
  const std::string& config_path() const { return config_path_; }
  const std::string& socket_path() const { return options_.vici_socket; }
  const EmbeddedCharonOptions& options() const { return options_; }
  uint64_t starts() const { return starts_; }

 private:
  Status<CharonError> check_pid_file() const;

  EmbeddedCharonOptions options_;
  std::string config_path_;
  pid_t pid_ = 0;
  uint64_t starts_ = 0;
};

}  // namespace l2tpvpn::ipsec
