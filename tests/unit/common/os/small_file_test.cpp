// read_small_file / read_all_fd: never throw, even when the /proc entry's process is gone between open and read.
#include "common/os/small_file.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>

namespace l2tpvpn::os {
namespace {

TEST(SmallFile, ReadsAFileAndReportsAMissingOne) {
  char path[] = "/tmp/l2tpvpn-small-file-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "a\0b\n", 4), 4);
  ::close(fd);
  EXPECT_EQ(read_small_file(path), std::string("a\0b\n", 4));
  EXPECT_EQ(read_small_file(path, 2), std::string("a\0", 2));
  ::unlink(path);
  EXPECT_EQ(read_small_file(path), std::nullopt);
}

// The start-up scan for stale pppds reads /proc/<pid>/cmdline of every process. A process that exits between
// open(2) and read(2) makes read(2) fail with ESRCH: reproduced here with a child reaped in between.
TEST(SmallFile, AProcessThatVanishedBetweenOpenAndReadIsNotAnException) {
  auto open_cmdline_of_a_reaped_child = [] {
    pid_t child = ::fork();
    if (child == 0) {
      ::pause();
      ::_exit(0);
    }
    int fd = ::open(("/proc/" + std::to_string(child) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return fd;
  };
  int fd = open_cmdline_of_a_reaped_child();
  ASSERT_GE(fd, 0);
  std::optional<std::string> r;
  EXPECT_NO_THROW(r = read_all_fd(fd));
  EXPECT_EQ(r, std::nullopt);
  ::close(fd);

  // What the scan did before: a stream buffer read through istreambuf_iterator throws on that read error.
  std::ifstream in;
  int fd2 = open_cmdline_of_a_reaped_child();
  ASSERT_GE(fd2, 0);
  in.open("/proc/self/fd/" + std::to_string(fd2), std::ios::binary);
  EXPECT_ANY_THROW((std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())));
  ::close(fd2);
}

}  // namespace
}  // namespace l2tpvpn::os
