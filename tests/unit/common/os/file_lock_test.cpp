#include "common/os/file_lock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace l2tpvpn::os {
namespace {

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-lock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = lock_path_for(dir_ + "/users");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(FileLockTest, TheLockFileSitsNextToTheFileAndIsPrivate) {
  EXPECT_EQ(path_, dir_ + "/users.lock");
  auto lock = FileLock::acquire(path_);
  ASSERT_TRUE(lock) << lock.error().to_string();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileLockTest, HeldLockIsRefusedToASecondHolderUntilReleased) {
  std::optional<FileLock> first;
  {
    auto l = FileLock::acquire(path_);
    ASSERT_TRUE(l);
    first.emplace(std::move(*l));
  }
  auto second = FileLock::try_acquire(path_);  // another open file description, as another process has
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().operation, "flock");
  EXPECT_EQ(second.error().error, EWOULDBLOCK);
  first.reset();
  EXPECT_TRUE(FileLock::try_acquire(path_));
}

TEST_F(FileLockTest, AcquireWaitsForAnotherProcessToRelease) {
  int held[2], go[2];
  ASSERT_EQ(::pipe(held), 0);
  ASSERT_EQ(::pipe(go), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto l = FileLock::acquire(path_);
    if (!l) ::_exit(2);
    (void)::write(held[1], "h", 1);
    char c;
    (void)::read(go[0], &c, 1);
    ::_exit(0);  // the lock goes with the process
  }
  char c;
  ASSERT_EQ(::read(held[0], &c, 1), 1);
  EXPECT_FALSE(FileLock::try_acquire(path_)) << "the child's lock was not exclusive";
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  auto mine = FileLock::acquire(path_);  // blocks until the child has exited
  EXPECT_TRUE(mine) << mine.error().to_string();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int fd : {held[0], held[1], go[0], go[1]}) ::close(fd);
}

TEST_F(FileLockTest, AMissingDirectoryIsAnOpenError) {
  auto l = FileLock::acquire(dir_ + "/no/such/dir/users.lock");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().operation, "open lock");
  EXPECT_EQ(l.error().error, ENOENT);
}

}  // namespace
}  // namespace l2tpvpn::os
