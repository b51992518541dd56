#include "common/os/proc.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/os/spawn.hpp"

namespace l2tpvpn::os {
namespace {

using Strings = std::vector<std::string>;

TEST(SplitNul, Table) {
  using namespace std::string_literals;
  EXPECT_EQ(split_nul(""), Strings{});
  EXPECT_EQ(split_nul("a"), Strings{"a"});
  EXPECT_EQ(split_nul("a\0"s), Strings{"a"});
  EXPECT_EQ(split_nul("a\0b\0"s), (Strings{"a", "b"}));
  EXPECT_EQ(split_nul("a\0\0b"s), (Strings{"a", "", "b"}));
  EXPECT_EQ(split_nul("\0"s), Strings{""});
  EXPECT_EQ(split_nul("with space\0x=1\0"s), (Strings{"with space", "x=1"}));
}

TEST(StatStartTime, FieldTwentyTwoCountedFromTheLastParenthesis) {
  // A comm with spaces and parentheses must not shift the fields.
  const std::string line =
      "4242 (pppd ) (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654321 12345 67 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  EXPECT_EQ(parse_stat_start_time(line), 987654321u);
  EXPECT_EQ(parse_stat_start_time("1 (init) S 1 1"), std::nullopt);  // too short
  EXPECT_EQ(parse_stat_start_time("no parenthesis at all"), std::nullopt);
  EXPECT_EQ(parse_stat_start_time("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12ab 0"), std::nullopt);
  EXPECT_EQ(parse_stat_start_time(""), std::nullopt);
}

TEST(StatStartTime, OurOwnAndAGoneProcess) {
  auto mine = start_time_of(::getpid());
  ASSERT_TRUE(mine);
  EXPECT_GT(*mine, 0u);
  EXPECT_EQ(start_time_of(::getpid()), mine) << "a process's start time does not change";
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  auto child_start = start_time_of(child);  // alive or a zombie until reaped: the stat file is there
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(child_start);
  EXPECT_GE(*child_start, *mine);
  EXPECT_EQ(start_time_of(child), std::nullopt);
}

TEST(ListPids, OnlyNumericEntries) {
  char tmpl[] = "/tmp/l2tpvpn-proc-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  for (const char* name : {"1", "123", "self", "12a", "net", "0"}) std::filesystem::create_directory(dir + "/" + name);
  std::ofstream(dir + "/77") << "";  // a file with a numeric name counts too, as in /proc
  auto pids = list_pids(dir);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{1, 77, 123}));
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(list_pids(dir).empty());  // gone: empty, not an error
}

TEST(ListPids, SeesUs) {
  const auto pids = list_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), ::getpid()), pids.end());
}

TEST(Proc, CommOfUs) {
  char old[17] = {};
  ASSERT_EQ(::prctl(PR_GET_NAME, old), 0);
  ASSERT_EQ(::prctl(PR_SET_NAME, "l2tpvpn-proc-t"), 0);
  EXPECT_EQ(comm_of(::getpid()), "l2tpvpn-proc-t");  // no trailing newline
  ::prctl(PR_SET_NAME, old);
}

TEST(Proc, CmdlineAndEnvironOfAChildThenGone) {
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "read x", "name", "with space"};
  spec.env = {"PATH=/usr/bin:/bin", "L2TPVPN_PROC_TEST=1"};
  spec.stdin_fd = in[0];
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid) << pid.error().to_string();
  ::close(in[0]);
  // posix_spawn returns once the exec has replaced the old memory, a moment before the kernel has copied argv
  // and the environment into the new one: poll, with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((cmdline_of(*pid).empty() || environ_of(*pid).empty()) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(cmdline_of(*pid), spec.argv);
  EXPECT_EQ(environ_of(*pid), spec.env);
  EXPECT_EQ(comm_of(*pid), "sh");
  const auto pids = list_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), *pid), pids.end());
  ::close(in[1]);  // EOF: read returns, sh exits
  wait_for(*pid);
  EXPECT_EQ(comm_of(*pid), "");
  EXPECT_TRUE(cmdline_of(*pid).empty());
  EXPECT_TRUE(environ_of(*pid).empty());
}

}  // namespace
}  // namespace l2tpvpn::os
