// server/config_file: the configuration file read from disk; a file that sets a secret inline must be private.
#include "server/config_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace l2tpvpn {
namespace {

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-config-file-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/l2tpvpnd.conf";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text, mode_t mode) {
    { std::ofstream(path_) << text; }
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  std::string dir_, path_;
};

TEST_F(ConfigFile, MissingFileIsNamed) {
  auto c = load_config_file(dir_ + "/none.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, dir_ + "/none.conf");
  EXPECT_NE(c.error().message.find("cannot open file"), std::string::npos) << c.error().to_string();
}

TEST_F(ConfigFile, WorldReadableWithInlinePskIsRefusedNamingFileLineAndKey) {
  write("[log]\nlevel = info\n[ipsec]\npsk = 0123456789\n", 0644);
  auto c = load_config_file(path_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, path_);
  EXPECT_EQ(c.error().line, 4);
  EXPECT_EQ(c.error().key, "ipsec.psk");
  EXPECT_EQ(c.error().to_string(),
            path_ + ":4: ipsec.psk: holds a secret, but mode 0644 gives group or others access (want 0600 or 0400): "
                    "chmod 600 " + path_ + ", or move the key to ipsec.psk_file");
}

TEST_F(ConfigFile, GroupReadableWithTunnelSecretOrTokenIsRefused) {
  write("[l2tp]\nsecret = tunnel-secret\n", 0640);
  auto c = load_config_file(path_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().key, "l2tp.secret");
  EXPECT_EQ(c.error().line, 2);
  EXPECT_NE(c.error().message.find("mode 0640"), std::string::npos) << c.error().to_string();
  write("[status]\ntoken = t0ken\n", 0604);
  c = load_config_file(path_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().key, "status.token");
}

TEST_F(ConfigFile, PrivateFileWithSecretsIsRead) {
  write("[l2tp]\nsecret = tunnel-secret\n[status]\ntoken = t0ken\n[ipsec]\npsk = 0123456789\n", 0600);
  auto c = load_config_file(path_);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->ipsec.psk, "0123456789");
  write("[ipsec]\npsk = 0123456789\n", 0400);
  EXPECT_TRUE(load_config_file(path_));
}

TEST_F(ConfigFile, WorldReadableWithoutInlineSecretIsRead) {
  // The shipped file: secrets in their own files, empty keys.
  write("[l2tp]\nsecret =\n[status]\ntoken =\n[ipsec]\npsk =\npsk_file = /etc/l2tpvpn/ipsec.secret\n", 0644);
  auto c = load_config_file(path_);
  ASSERT_TRUE(c) << c.error().to_string();
}

TEST_F(ConfigFile, SecretInAFileSomeoneElseOwnsIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  write("[ipsec]\npsk = 0123456789\n", 0600);
  ASSERT_EQ(::chown(path_.c_str(), 12345, 12345), 0);
  auto c = load_config_file(path_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("owned by uid 12345"), std::string::npos) << c.error().to_string();
}

TEST_F(ConfigFile, ParseErrorsStillNameFileAndLine) {
  write("[l2tp]\nport = 0\n", 0644);
  auto c = load_config_file(path_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, path_);
  EXPECT_EQ(c.error().line, 2);
}

}  // namespace
}  // namespace l2tpvpn
