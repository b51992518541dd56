#include "server/process.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace l2tpvpn
