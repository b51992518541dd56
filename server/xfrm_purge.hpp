// Kernel IPsec state left behind by an embedded charon that died without cleaning up (SIGKILL, crash).
//
// charon deletes its SAs and policies when it stops normally. After a SIGKILL the kernel keeps them: the SAs
// until their hard lifetime (24 h with our profile), the policies forever. The restarted charon knows none of
// them, so they are stale: they hold the peer's old keys, and a stale outbound SA with the same addresses can
// shadow the new one. The supervisor therefore removes, before it restarts charon, the SAs and policies between
// the server and every peer the SA registry still listed (the registry keeps its last view when charon goes).
//
// `xfrm_purge_commands` is pure (tested on its own); `purge_xfrm` runs the commands (iproute2's `ip`, a
// dependency of strongswan-charon; posix_spawn through os::run_process, no shell) and is blocking: a few
// milliseconds per peer, once per charon crash.
//
// Only state between exactly these address pairs goes: policies or SAs of other peers, or of other IPsec users
// on this host, are not touched (a blanket `ip xfrm state flush` would be simpler but could hit them).
//
// Thread-safety: none needed (pure function; the runner is called from the daemon's io_context thread).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ipsec/sa_registry.hpp"

namespace l2tpvpn {

// For every distinct (local, remote) address pair of `sas`: `ip xfrm state deleteall` of the ESP SAs in both
// directions and `ip xfrm policy deleteall` of the host-to-host policies in both directions (in, out, fwd).
// Pairs are de-duplicated and emitted in a stable order. Errors: none (an empty list gives no commands).
std::vector<std::vector<std::string>> xfrm_purge_commands(const std::vector<ipsec::SaInfo>& sas);

struct XfrmPurgeResult {
  size_t peers = 0;     // distinct address pairs
  size_t commands = 0;  // commands run
  size_t failures = 0;  // commands that could not start or exited non-zero
  std::string last_error;
};

// Runs xfrm_purge_commands(sas). A failure (no `ip`, nothing to delete reported as an error) is counted, never
// fatal: a stale SA only wastes memory until it expires.
XfrmPurgeResult purge_xfrm(const std::vector<ipsec::SaInfo>& sas);

}  // namespace l2tpvpn
