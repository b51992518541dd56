// A pseudo-terminal pair for pppd in pty mode (the userspace data path, see ppp/hdlc.hpp and docs/ppp.md).
//
// The daemon keeps the master (non-blocking, watched by its event loop) and gives pppd the slave's path as its
// serial device. The slave is put into raw mode here (cfmakeraw: no echo, no canonical line editing, no
// signal characters, no CR/NL translation, no XON/XOFF, 8 bits) so the HDLC byte stream crosses unchanged in both
// directions even before pppd sets its own tty modes. The settings live in the pty and survive the slave being
// closed and reopened while the master stays open.
//
// Linux behaviour callers must expect: while no one has the slave open (before pppd opens it, after pppd exits),
// read() on the master fails with EIO and poll() reports POLLHUP; bytes written to the master meanwhile wait in
// the slave's input queue (pppd flushes them when it configures the line).
//
// Thread-safety: a function; the result is a value type owned by one thread.
#pragma once

#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace l2tpvpn::ppp {

struct PtyPair {
  UniqueFd master;         // O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK
  std::string slave_path;  // "/dev/pts/N"; not open in this process
};

struct PtyError {
  std::string operation;          // the call that failed: "posix_openpt", "grantpt", "unlockpt", "ptsname_r", ...
  int error = 0;                  // its errno
  std::string to_string() const;  // "<operation>: <strerror>"
};

// Opens a new pty pair (posix_openpt, grantpt, unlockpt, ptsname_r) and puts the slave into raw mode (opened
// briefly with O_NOCTTY so it never becomes our controlling terminal). Errors: the failing call and its errno
// (e.g. posix_openpt ENOENT without /dev/ptmx, EMFILE/ENFILE, ENOSPC when the kernel.pty.max limit is reached).
Result<PtyPair, PtyError> open_pty_pair();

}  // namespace l2tpvpn::ppp
