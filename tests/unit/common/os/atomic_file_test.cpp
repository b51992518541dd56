#include "common/os/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace l2tpvpn::os {
namespace {

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-atomic-XXXXXX";
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
  static std::string contents(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(AtomicFile, WritesWithMode) {
  auto p = dir_ + "/users";
  ASSERT_TRUE(write_file_atomically(p, "hello\n", 0600));
  EXPECT_EQ(mode_of(p), 0600u);
  EXPECT_EQ(contents(p), "hello\n");
  EXPECT_EQ(entries(), 1u);  // no temporary left behind
  ASSERT_TRUE(write_file_atomically(dir_ + "/public", "x", 0644));
  EXPECT_EQ(mode_of(dir_ + "/public"), 0644u);
}

TEST_F(AtomicFile, ReplacesAndFixesMode) {
  auto p = dir_ + "/f";
  { std::ofstream(p) << "old"; }
  chmod(p.c_str(), 0644);
  ASSERT_TRUE(write_file_atomically(p, "new", 0600));
  EXPECT_EQ(contents(p), "new");
  EXPECT_EQ(mode_of(p), 0600u);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, EmptyContent) {
  auto p = dir_ + "/empty";
  ASSERT_TRUE(write_file_atomically(p, ""));
  EXPECT_EQ(contents(p), "");
}

TEST_F(AtomicFile, WriteFailureLeavesNothing) {
  auto r = write_file_atomically(dir_ + "/no/such/dir/f", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, ENOENT);
  EXPECT_EQ(r.error().operation, "create temporary");
  EXPECT_EQ(r.error().to_string().rfind(dir_ + "/no/such/dir/f: create temporary: ", 0), 0u);
  EXPECT_EQ(entries(), 0u);
}

}  // namespace
}  // namespace l2tpvpn::os
