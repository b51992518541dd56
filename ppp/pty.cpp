#include "ppp/pty.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>

#include <cerrno>
#include <cstring>

namespace l2tpvpn::ppp {

std::string PtyError::to_string() const {
  return operation + ": " + std::strerror(error);
}

namespace {

Unexpected<PtyError> fail(const char* operation) {
  return unexpected(PtyError{operation, errno});
}

}  // namespace

Result<PtyPair, PtyError> open_pty_pair() {
  // glibc's posix_openpt passes its flags to open("/dev/ptmx"), so O_CLOEXEC and O_NONBLOCK are set atomically.
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (!master) return fail("posix_openpt");
  if (::grantpt(master.get()) != 0) return fail("grantpt");
  if (::unlockpt(master.get()) != 0) return fail("unlockpt");
  char name[64];
  if (int err = ::ptsname_r(master.get(), name, sizeof name); err != 0) {
    errno = err;
    return fail("ptsname_r");
  }

  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return fail("open slave");
  termios tio{};
  if (::tcgetattr(slave.get(), &tio) != 0) return fail("tcgetattr");
  ::cfmakeraw(&tio);
  // Reads return as soon as one byte is there (cfmakeraw leaves VMIN/VTIME alone).
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (::tcsetattr(slave.get(), TCSANOW, &tio) != 0) return fail("tcsetattr");

  return PtyPair{std::move(master), std::string(name)};
}

}  // namespace l2tpvpn::ppp
