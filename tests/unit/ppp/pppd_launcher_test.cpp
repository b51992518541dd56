// The pppd-specific layer over common/os/spawn: spawn_pppd's descriptor layout (checked on a stand-in pppd
// script through /proc) and reaping with the exit status read as pppd's.
#include "ppp/pppd_launcher.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "ppp/pppd_args.hpp"

namespace l2tpvpn::ppp {
namespace {

std::set<int> fds_of(pid_t pid) {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    out.insert(std::stoi(e.path().filename().string()));
  }
  return out;
}

std::string link_of(pid_t pid, int fd) {
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd)).string();
}

class PppdLauncher : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-launch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fake_ = dir_ + "/fake-pppd";
    // A stand-in pppd: writes its argv to the report descriptor, then becomes `sleep` with the same table.
    std::ofstream(fake_) << "#!/bin/sh\n"
                            "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >&4\n"
                            "printf 'END\\n' >&4\n"
                            "exec sleep 30\n";
    chmod(fake_.c_str(), 0755);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, fake_;
};

TEST_F(PppdLauncher, PppolTwoTpSocketAndReportFdLandOnTheirNumbers) {
  int sv[2], rep[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);  // stands in for the PPPoL2TP socket
  ASSERT_EQ(pipe2(rep, O_CLOEXEC), 0);
  auto pid = spawn_pppd({fake_, "plugin", "pppol2tp.so", "with space"}, sv[0], rep[1]);
  ASSERT_TRUE(pid) << pid.error().to_string();
  close(rep[1]);
  std::string out;
  char buf[512];
  while (out.find("END\n") == std::string::npos) {
    ssize_t n = read(rep[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(out, "plugin\npppol2tp.so\nwith space\nEND\n");
  // The script has written everything and execs `sleep` (same table). The kernel renames the process before it
  // closes the script's close-on-exec descriptors, so poll the table itself, with a deadline.
  const std::set<int> want = {0, 1, 2, kPppol2tpChildFd, kReportChildFd};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fds_of(*pid) != want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fds_of(*pid), want);
  EXPECT_EQ(link_of(*pid, 2), "/dev/null");  // no stderr_fd given
  ASSERT_TRUE(os::signal_process_group(*pid, SIGTERM));
  const auto r = wait_for_pppd(*pid);
  EXPECT_EQ(r.termination.exit, PppdExit::kKilledBySignal);
  EXPECT_EQ(r.termination.signal, SIGTERM);
  for (int fd : {sv[0], sv[1], rep[0]}) close(fd);
}

TEST_F(PppdLauncher, ExitCodeMapsToEnum) {
  auto pid = spawn_pppd({"/bin/sh", "-c", "exit 11"}, -1, -1);
  ASSERT_TRUE(pid) << pid.error().to_string();
  const auto r = wait_for_pppd(*pid);
  EXPECT_EQ(r.pid, *pid);
  EXPECT_EQ(r.termination.exit, PppdExit::kPeerAuthFailed);
  EXPECT_EQ(r.termination.raw_exit_code, 11);
}

TEST(PppdTerminationFromExitStatus, ExitSignalUnknown) {
  EXPECT_EQ(pppd_termination_from_exit_status(os::ExitStatus{true, 15, 0, false}),
            (PppdTermination{PppdExit::kPeerDead, 15, 0, false}));
  EXPECT_EQ(pppd_termination_from_exit_status(os::ExitStatus{true, 99, 0, false}).exit, PppdExit::kUnknown);
  EXPECT_EQ(pppd_termination_from_exit_status(os::ExitStatus{false, -1, SIGSEGV, true}),
            (PppdTermination{PppdExit::kKilledBySignal, -1, SIGSEGV, true}));
  EXPECT_EQ(pppd_termination_from_exit_status(os::ExitStatus{}), PppdTermination{});
}

TEST(PppdLauncherReap, UnknownPidDoesNotHang) {
  auto r = try_reap_pppd(999999);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->termination.exit, PppdExit::kUnknown);
}

}  // namespace
}  // namespace l2tpvpn::ppp
