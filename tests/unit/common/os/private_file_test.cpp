#include "common/os/private_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "common/os/atomic_file.hpp"
#include "require.hpp"

namespace l2tpvpn::os {
namespace {

class PrivateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-private-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string make(const std::string& name, const std::string& text, mode_t mode) {
    auto p = dir_ + "/" + name;
    { std::ofstream(p) << text; }
    EXPECT_EQ(chmod(p.c_str(), mode), 0);
    return p;
  }
  std::string dir_;
};

TEST_F(PrivateFile, OwnerOnlyModesAreRead) {
  for (mode_t mode : {0600, 0400}) {
    auto p = make("secret", "psk\n", mode);
    auto r = read_private_file(p);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(*r, "psk\n");
    std::filesystem::remove(p);
  }
}

TEST_F(PrivateFile, CheckPrivateAppliesTheSameRuleToAnOpenFile) {
  for (mode_t mode : {0644, 0640, 0604, 0600, 0400}) {
    auto p = make("conf", "x\n", mode);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto r = check_private(fd, p);
    ::close(fd);
    EXPECT_EQ(static_cast<bool>(r), (mode & 077) == 0) << std::oct << mode;
    if (!r) {
      EXPECT_EQ(r.error().operation, "permissions");
      EXPECT_EQ(r.error().mode, static_cast<int>(mode));
      EXPECT_EQ(r.error().path, p);
    }
    std::filesystem::remove(p);
  }
  EXPECT_FALSE(check_private(-1, "nothing"));  // fstat fails: "stat" with EBADF
}

TEST_F(PrivateFile, GroupOrOtherAccessIsRefusedNamingPathAndMode) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    auto p = make("secret", "psk\n", mode);
    auto r = read_private_file(p);
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_EQ(r.error().operation, "permissions");
    EXPECT_EQ(r.error().error, 0);
    EXPECT_EQ(r.error().mode, static_cast<int>(mode));
    EXPECT_EQ(r.error().path, p);
    char want[8];
    std::snprintf(want, sizeof want, "%04o", static_cast<unsigned>(mode));
    const std::string text = r.error().to_string();
    EXPECT_EQ(text.rfind(p + ": permissions: ", 0), 0u) << text;
    EXPECT_NE(text.find(std::string("mode ") + want), std::string::npos) << text;
    EXPECT_TRUE(read_regular_file(p)) << "fine when privacy is not required";
    std::filesystem::remove(p);
  }
  auto p = make("secret", "x", 0644);
  EXPECT_EQ(read_private_file(p).error().to_string(),
            p + ": permissions: mode 0644 gives group or others access (want 0600 or 0400)");
}

TEST_F(PrivateFile, SomeoneElsesFileIsRefused) {
  L2TPVPN_REQUIRE(::geteuid() == 0, "root (to give the file to another owner)");
  auto p = make("secret", "x", 0600);
  ASSERT_EQ(::chown(p.c_str(), 12345, 12345), 0);
  auto r = read_private_file(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().operation, "permissions");
  EXPECT_NE(r.error().detail.find("uid 12345"), std::string::npos) << r.error().detail;
  ASSERT_EQ(::chown(p.c_str(), 0, 0), 0);
  EXPECT_TRUE(read_private_file(p));  // root's own
}

TEST_F(PrivateFile, MissingTooLargeNotRegularSymlink) {
  auto r = read_private_file(dir_ + "/none");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, ENOENT);
  EXPECT_EQ(r.error().operation, "open");
  auto p = dir_ + "/big";
  ASSERT_TRUE(write_file_atomically(p, std::string(100, 'x')));
  EXPECT_FALSE(read_private_file(p, 99));
  EXPECT_TRUE(read_private_file(p, 100));
  EXPECT_FALSE(read_regular_file(p, 99));
  EXPECT_EQ(read_regular_file(dir_).error().detail, "not a regular file");
  auto link = dir_ + "/l";
  ASSERT_EQ(symlink(p.c_str(), link.c_str()), 0);
  EXPECT_EQ(read_private_file(link).error().error, ELOOP);  // O_NOFOLLOW
  EXPECT_EQ(read_regular_file(link).error().error, ELOOP);
}

}  // namespace
}  // namespace l2tpvpn::os
