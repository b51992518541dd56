#include "server/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

namespace l2tpvpn {
namespace {

TEST(Process, CapturesOutputAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("out"), std::string::npos);
  EXPECT_NE(r.output.find("err"), std::string::npos);
}

TEST(Process, FeedsLargeStdinWithoutDeadlock) {
  std::string big(1 << 20, 'x');
  auto r = run_process({"wc", "-c"}, big);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("1048576"), std::string::npos);
}

TEST(Process, ChildThatIgnoresStdinDoesNotKillUs) {
  auto r = run_process({"true"}, std::string(1 << 20, 'y'));
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Process, MissingProgram) {
  auto r = run_process({"/nonexistent/tool"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(have_program("/nonexistent/tool"));
  EXPECT_TRUE(have_program("sh"));
}

TEST(Process, KilledBySignal) {
  auto r = run_process({"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.exit_code, 128 + 9);
}

TEST(Process, TheChildGetsNoDescriptorOfOursButItsPipes) {
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

}  // namespace
}  // namespace l2tpvpn
