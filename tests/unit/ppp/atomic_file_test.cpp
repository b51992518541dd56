#include "ppp/atomic_file.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace l2tpvpn::ppp {
namespace {

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-ppp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  mode_t mode_of(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  size_t entries() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++n;
    return n;
  }
  std::string dir_;
};

TEST_F(AtomicFile, WritesWithModeAndReadsBack) {
  auto p = dir_ + "/users";
  ASSERT_TRUE(write_file_atomically(p, "hello\n", 0600));
  EXPECT_EQ(mode_of(p), 0600u);
  auto r = read_file(p, true);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, "hello\n");
  EXPECT_EQ(entries(), 1u);  // no temporary left behind
}

TEST_F(AtomicFile, ReplacesAndFixesMode) {
  auto p = dir_ + "/f";
  { std::ofstream(p) << "old"; }
  chmod(p.c_str(), 0644);
  ASSERT_TRUE(write_file_atomically(p, "new", 0600));
  EXPECT_EQ(*read_file(p, true), "new");
  EXPECT_EQ(mode_of(p), 0600u);
}

TEST_F(AtomicFile, RefusesSharedSecretFile) {
  auto p = dir_ + "/f";
  { std::ofstream(p) << "x"; }
  chmod(p.c_str(), 0640);
  auto r = read_file(p, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().operation, "permissions");
  EXPECT_TRUE(read_file(p, false));  // fine when privacy is not required
}

TEST_F(AtomicFile, MissingAndTooLargeAndNotRegular) {
  auto r = read_file(dir_ + "/none", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, ENOENT);
  auto p = dir_ + "/big";
  ASSERT_TRUE(write_file_atomically(p, std::string(100, 'x')));
  EXPECT_FALSE(read_file(p, true, 99));
  EXPECT_TRUE(read_file(p, true, 100));
  EXPECT_FALSE(read_file(dir_, false));
}

TEST_F(AtomicFile, RefusesSymlink) {
  auto target = dir_ + "/t";
  ASSERT_TRUE(write_file_atomically(target, "x"));
  auto link = dir_ + "/l";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(read_file(link, true));  // O_NOFOLLOW
}

TEST_F(AtomicFile, WriteFailureLeavesNothing) {
  auto r = write_file_atomically(dir_ + "/no/such/dir/f", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, ENOENT);
  EXPECT_EQ(entries(), 0u);
}

}  // namespace
}  // namespace l2tpvpn::ppp
