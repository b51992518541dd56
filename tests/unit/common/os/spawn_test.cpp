// I/O tests of spawn_process, the reaping functions and run_process: real children (/bin/sh and a stand-in
// script), real descriptors, /proc checks.
#include "common/os/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace l2tpvpn::os {
namespace {

std::string link_of(pid_t pid, int fd) {
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd)).string();
}

std::string our_link(int fd) { return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd)).string(); }

std::set<int> fds_of(pid_t pid) {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    out.insert(std::stoi(e.path().filename().string()));
  }
  return out;
}

std::string status_field(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.substr(key.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  }
  return {};
}

// Waits (clock-based deadline) until the child has exec'd `comm`.
bool wait_for_comm(pid_t pid, const std::string& comm) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string c;
    std::getline(in, c);
    if (c == comm) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string read_until_end(int fd) {
  std::string out;
  char buf[512];
  while (out.find("END\n") == std::string::npos) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class Spawn : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-spawn-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fake_ = dir_ + "/fake-helper";
    // A stand-in helper: writes its argv to descriptor 4, then becomes `sleep` with the same descriptor table
    // so the test can inspect it.
    std::ofstream(fake_) << "#!/bin/sh\n"
                            "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >&4\n"
                            "printf 'END\\n' >&4\n"
                            "exec sleep 30\n";
    chmod(fake_.c_str(), 0755);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, fake_;
};

TEST_F(Spawn, WaitForDecodesTheExitStatus) {
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "exit 11"};
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid) << pid.error().to_string();
  auto r = wait_for(*pid);
  EXPECT_EQ(r.pid, *pid);
  EXPECT_EQ(r.status, (ExitStatus{true, 11, 0, false}));
  EXPECT_EQ(r.status.to_string(), "exit 11");
}

TEST(ExitStatus, FromWaitStatus) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(7);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(ExitStatus::from_wait_status(status), (ExitStatus{true, 7, 0, false}));
  child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  const auto killed = ExitStatus::from_wait_status(status);
  ASSERT_TRUE(killed);
  EXPECT_FALSE(killed->exited);
  EXPECT_EQ(killed->code, -1);
  EXPECT_EQ(killed->signal, SIGKILL);
  EXPECT_EQ(killed->to_string().rfind("signal 9 (", 0), 0u);
  EXPECT_EQ(ExitStatus{}.to_string(), "unknown");
}

TEST_F(Spawn, TryReapIsNonBlocking) {
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "read x; exit 15"};
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  spec.stdin_fd = p[0];
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid);
  close(p[0]);
  EXPECT_FALSE(try_reap(*pid));  // still running, waiting for input
  ASSERT_EQ(write(p[1], "x\n", 2), 2);
  close(p[1]);
  std::optional<Reaped> r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(r = try_reap(*pid)) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 15);
}

TEST_F(Spawn, PassesExactlyTheGivenDescriptors) {
  int sv[2], rep[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);  // stands in for the PPPoL2TP socket
  ASSERT_EQ(pipe2(rep, O_CLOEXEC), 0);
  int leaky = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC: must not reach the child
  ASSERT_GE(leaky, 0);
  signal(SIGPIPE, SIG_IGN);  // an ignored signal in the parent must not be inherited

  LaunchSpec spec;
  spec.argv = {fake_, "plugin", "pppol2tp.so", "name", "with space", "ifname", "ppp-l2tp1"};
  spec.fds = {{sv[0], 3}, {rep[1], 4}};
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid) << pid.error().to_string();
  close(rep[1]);
  EXPECT_EQ(read_until_end(rep[0]), "plugin\npppol2tp.so\nname\nwith space\nifname\nppp-l2tp1\nEND\n");
  ASSERT_TRUE(wait_for_comm(*pid, "sleep"));
  // The kernel renames the process before it closes the script's close-on-exec descriptors: poll the table.
  const std::set<int> want = {0, 1, 2, 3, 4};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fds_of(*pid) != want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fds_of(*pid), want);
  EXPECT_EQ(link_of(*pid, 0), "/dev/null");
  EXPECT_EQ(link_of(*pid, 1), "/dev/null");
  EXPECT_EQ(link_of(*pid, 2), "/dev/null");
  EXPECT_EQ(link_of(*pid, 3), our_link(sv[0]));
  EXPECT_EQ(link_of(*pid, 4).rfind("pipe:", 0), 0u);
  EXPECT_EQ(getpgid(*pid), *pid);  // its own process group
  EXPECT_EQ(status_field(*pid, "SigBlk"), "0000000000000000");
  // glibc's posix_spawn cannot reset its two internal signals (32 SIGCANCEL, 33 SIGSETXID: bits 31 and 32)
  // and leaves them ignored across exec; the exec'd program's libc installs its handlers when it needs them.
  // Every real signal must be back to default.
  constexpr uint64_t kGlibcInternal = (uint64_t{1} << 31) | (uint64_t{1} << 32);
  EXPECT_EQ(std::stoull(status_field(*pid, "SigIgn"), nullptr, 16) & ~kGlibcInternal, 0u);
  signal(SIGPIPE, SIG_DFL);

  ASSERT_TRUE(signal_process_group(*pid, SIGTERM));
  auto r = wait_for(*pid);
  EXPECT_FALSE(r.status.exited);
  EXPECT_EQ(r.status.signal, SIGTERM);
  EXPECT_FALSE(signal_process_group(*pid, SIGTERM));  // gone: ESRCH
  close(sv[0]);
  close(sv[1]);
  close(rep[0]);
  close(leaky);
}

TEST_F(Spawn, CrossedMappingsDoNotClobber) {
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  // Move the read ends well above 4 so neither number collides with the report target below, whatever
  // descriptors the test runner left open (ctest may hand us more than 0-2).
  for (int* fd : {&a[0], &b[0]}) {
    int high = fcntl(*fd, F_DUPFD_CLOEXEC, fd == &a[0] ? 20 : 30);
    ASSERT_GE(high, 20);
    close(*fd);
    *fd = high;
  }
  // Give a[0] the number of b[0] in the child and vice versa, plus the report pipe on 4 for the handshake.
  int rep[2];
  ASSERT_EQ(pipe2(rep, O_CLOEXEC), 0);
  LaunchSpec spec;
  spec.argv = {fake_};
  spec.fds = {{a[0], b[0]}, {b[0], a[0]}, {rep[1], 4}};
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid) << pid.error().to_string();
  close(rep[1]);
  read_until_end(rep[0]);
  ASSERT_TRUE(wait_for_comm(*pid, "sleep"));
  EXPECT_EQ(link_of(*pid, b[0]), our_link(a[0]));
  EXPECT_EQ(link_of(*pid, a[0]), our_link(b[0]));
  ASSERT_TRUE(signal_process_group(*pid, SIGKILL));
  EXPECT_EQ(wait_for(*pid).status.signal, SIGKILL);
  for (int fd : {a[0], a[1], b[0], b[1], rep[0]}) close(fd);
}

TEST_F(Spawn, EnvironmentIsOnlyWhatWeGive) {
  int rep[2];
  ASSERT_EQ(pipe2(rep, O_CLOEXEC), 0);
  setenv("L2TPVPN_TEST_SECRET", "leak", 1);
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "env >&4"};
  spec.fds = {{rep[1], 4}};
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid);
  close(rep[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(rep[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(rep[0]);
  wait_for(*pid);
  unsetenv("L2TPVPN_TEST_SECRET");
  EXPECT_EQ(out.find("L2TPVPN_TEST_SECRET"), std::string::npos);
  EXPECT_NE(out.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), std::string::npos);
}

TEST_F(Spawn, Errors) {
  LaunchSpec spec;
  EXPECT_EQ(spawn_process(spec).error().operation, "validate");
  spec.argv = {"sh"};
  EXPECT_EQ(spawn_process(spec).error().operation, "validate");
  spec.argv = {dir_ + "/does-not-exist"};
  auto r = spawn_process(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, ENOENT);
  spec.argv = {"/bin/true"};
  spec.fds = {{0, 2}};
  EXPECT_FALSE(spawn_process(spec));  // target in stdio range
  spec.fds = {{0, 5}, {1, 5}};
  EXPECT_FALSE(spawn_process(spec));  // target twice
  spec.fds = {{987, 5}};
  EXPECT_EQ(spawn_process(spec).error().error, EBADF);  // source not open
  EXPECT_FALSE(signal_process_group(1, SIGTERM));
}

TEST_F(Spawn, ReapUnknownPidDoesNotHang) {
  auto r = try_reap(999999);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, ExitStatus{});
  EXPECT_EQ(wait_for(999999).status, ExitStatus{});
}

TEST_F(Spawn, SearchPathAndOurOwnProcessGroup) {
  LaunchSpec spec;
  spec.argv = {"sh", "-c", "exit 4"};
  EXPECT_EQ(spawn_process(spec).error().operation, "validate");  // a bare name needs search_path
  spec.search_path = true;
  spec.new_process_group = false;
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid) << pid.error().to_string();
  EXPECT_EQ(wait_for(*pid).status.code, 4);
}

// run_process: argv + stdin text -> exit code + combined output, built on spawn_process.

TEST(RunProcess, CapturesOutputAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("out"), std::string::npos);
  EXPECT_NE(r.output.find("err"), std::string::npos);
}

TEST(RunProcess, FeedsLargeStdinWithoutDeadlock) {
  std::string big(1 << 20, 'x');
  auto r = run_process({"wc", "-c"}, big);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("1048576"), std::string::npos);
}

TEST(RunProcess, ChildThatIgnoresStdinDoesNotKillUs) {
  auto r = run_process({"true"}, std::string(1 << 20, 'y'));
  EXPECT_EQ(r.exit_code, 0);
}

TEST(RunProcess, OutputIsBounded) {
  auto r = run_process({"sh", "-c", "head -c 1000000 /dev/zero"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GE(r.output.size(), kMaxProcessOutput);
  EXPECT_LT(r.output.size(), kMaxProcessOutput + 8192);
}

TEST(RunProcess, MissingProgram) {
  auto r = run_process({"/nonexistent/tool"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.output, "cannot start /nonexistent/tool: No such file or directory");
  EXPECT_EQ(run_process({"no-such-tool-l2tpvpn"}).exit_code, -1);
  EXPECT_FALSE(have_program("/nonexistent/tool"));
  EXPECT_TRUE(have_program("sh"));
}

TEST(RunProcess, KilledBySignal) {
  auto r = run_process({"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.exit_code, 128 + 9);
}

TEST(RunProcess, TheChildGetsNoDescriptorOfOursButItsPipes) {
  // A descriptor without O_CLOEXEC (as Boost.Asio's sockets are), numbered far above what ls itself opens.
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 50), 50);
  ::close(fd);
  auto r = run_process({"sh", "-c", "ls /proc/self/fd"});
  ::close(50);
  EXPECT_EQ(r.exit_code, 0);
  // 0, 1, 2 and the descriptor ls opened to list the directory: never ours.
  EXPECT_EQ(r.output.find("50\n"), std::string::npos) << r.output;
  EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 4) << r.output;
}

TEST(RunProcess, SigpipeIsDefaultInTheChild) {
  // We ignore SIGPIPE; the child must not inherit that (a pipeline inside it would otherwise not end on EPIPE).
  ::signal(SIGPIPE, SIG_IGN);
  auto r = run_process({"sh", "-c", "grep SigIgn /proc/self/status"});
  ::signal(SIGPIPE, SIG_DFL);
  ASSERT_EQ(r.exit_code, 0);
  const auto hex = r.output.substr(r.output.find_first_of("0123456789abcdef", r.output.find(':')));
  EXPECT_EQ(std::stoull(hex, nullptr, 16) & (uint64_t{1} << (SIGPIPE - 1)), 0u) << r.output;
}

}  // namespace
}  // namespace l2tpvpn::os
