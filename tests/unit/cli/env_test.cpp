// cli/env: the real environment: control_call reporting a daemon that is not running, and run_ctl over it.
#include "cli/env.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

TEST_F(CtlTest, StaleSocketMeansNotRunning) {
  // A socket file nobody listens on (the daemon was killed): ECONNREFUSED, reported as not running.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  ControlReply r = control_call(socket_, json{{"cmd", "status"}});
  EXPECT_EQ(r.failure, ControlFailure::kNotRunning) << r.error;
  EXPECT_TRUE(contains(r.error, socket_));
  EXPECT_EQ(control_call(std::string(200, 'x'), json{{"cmd", "status"}}).failure, ControlFailure::kTransport);
  std::ostringstream out, err;
  std::istringstream in;
  CtlEnv env = make_default_ctl_env(out, err, in);
  EXPECT_EQ(run_ctl({"-c", config_, "-s", std::string(200, 'x'), "status"}, env), 1);
  EXPECT_TRUE(contains(err.str(), "too long"));
}

}  // namespace
}  // namespace l2tpvpn::cli
