#include "ppp/user_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/os/atomic_file.hpp"
#include "common/os/private_file.hpp"

namespace l2tpvpn::ppp {
namespace {

TEST(UserStore, ParsesUsers) {
  auto s = UserStore::parse(
      "# comment\n"
      "\n"
      "alice password=correct-horse address=10.99.0.50\n"
      "  bob\tpassword=hunter2#x=  \r\n",
      "users");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->size(), 2u);
  ASSERT_NE(s->find("alice"), nullptr);
  EXPECT_EQ(s->find("alice")->password, "correct-horse");
  EXPECT_EQ(s->find("alice")->address, parse_ipv4("10.99.0.50"));
  EXPECT_EQ(s->find("bob")->password, "hunter2#x=");
  EXPECT_FALSE(s->find("bob")->address);
  EXPECT_EQ(s->find("carol"), nullptr);
  EXPECT_EQ(s->names(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(s->reservations(), (std::map<std::string, std::string>{{"alice", "10.99.0.50"}}));
}

struct Bad {
  const char* text;
  UserStoreErrorCode code;
  int line;
  const char* key;
};

TEST(UserStore, ParseErrorsNameFileLineKey) {
  const Bad cases[] = {
      {"a password=x\nb\n", UserStoreErrorCode::kMissingKey, 2, "password"},
      {"a password=x color=red\n", UserStoreErrorCode::kUnknownKey, 1, "color"},
      {"a password=x password=y\n", UserStoreErrorCode::kDuplicateKey, 1, "password"},
      {"a password=x address=10.1\n", UserStoreErrorCode::kBadAddress, 1, "address"},
      {"a secret\n", UserStoreErrorCode::kSyntax, 1, "a"},
      {"a password=\n", UserStoreErrorCode::kBadPassword, 1, "password"},
      {"a password=x\"y\n", UserStoreErrorCode::kBadPassword, 1, "password"},
      {"a password=\x01x\n", UserStoreErrorCode::kBadPassword, 1, "password"},
      {"a password=p\xc3\xa4ss\n", UserStoreErrorCode::kBadPassword, 1, "password"},
      {"a=b password=x\n", UserStoreErrorCode::kBadUserName, 1, "user"},
      {"\"a\" password=x\n", UserStoreErrorCode::kBadUserName, 1, "user"},
      {"a password=x\n\n# c\na password=y\n", UserStoreErrorCode::kDuplicateUser, 4, "a"},
  };
  for (const auto& c : cases) {
    auto s = UserStore::parse(c.text, "/etc/l2tpvpn/users");
    ASSERT_FALSE(s) << c.text;
    EXPECT_EQ(s.error().code, c.code) << c.text;
    EXPECT_EQ(s.error().line, c.line) << c.text;
    EXPECT_EQ(s.error().key, c.key) << c.text;
    EXPECT_EQ(s.error().file, "/etc/l2tpvpn/users");
    EXPECT_EQ(s.error().to_string().rfind("/etc/l2tpvpn/users:" + std::to_string(c.line) + ": ", 0), 0u);
  }
}

TEST(UserStore, ErrorsNeverContainThePassword) {
  for (const char* text : {"alice password=Sup3rSecret!! colour=x\n", "alice Sup3rSecret!!\n",
                           "alice password=Sup3rSecret!! password=Sup3rSecret!!\n"}) {
    auto s = UserStore::parse(text, "users");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().to_string().find("Sup3rSecret"), std::string::npos) << s.error().to_string();
  }
}

TEST(UserStore, MutatorsValidate) {
  UserStore s;
  ASSERT_TRUE(s.add({"alice", "pw", std::nullopt}));
  EXPECT_EQ(s.add({"alice", "pw2", std::nullopt}).error().code, UserStoreErrorCode::kDuplicateUser);
  EXPECT_EQ(s.add({"bad name", "pw", std::nullopt}).error().code, UserStoreErrorCode::kBadUserName);
  EXPECT_EQ(s.add({"bob", "pass word", std::nullopt}).error().code, UserStoreErrorCode::kBadPassword);
  EXPECT_EQ(s.add({std::string(65, 'u'), "pw", std::nullopt}).error().code, UserStoreErrorCode::kBadUserName);
  EXPECT_EQ(s.add({"bob", std::string(129, 'p'), std::nullopt}).error().code, UserStoreErrorCode::kBadPassword);
  EXPECT_TRUE(s.set_password("alice", "new-pw"));
  EXPECT_EQ(s.find("alice")->password, "new-pw");
  EXPECT_EQ(s.set_password("alice", "tab\there").error().code, UserStoreErrorCode::kBadPassword);
  EXPECT_EQ(s.set_password("nobody", "x").error().code, UserStoreErrorCode::kUnknownUser);
  EXPECT_TRUE(s.set_address("alice", parse_ipv4("10.0.0.5")));
  EXPECT_EQ(s.find("alice")->address, parse_ipv4("10.0.0.5"));
  EXPECT_TRUE(s.set_address("alice", std::nullopt));
  EXPECT_FALSE(s.find("alice")->address);
  EXPECT_TRUE(s.remove("alice"));
  EXPECT_EQ(s.remove("alice").error().code, UserStoreErrorCode::kUnknownUser);
  EXPECT_EQ(s.size(), 0u);
}

TEST(UserStore, SerializeRoundTrips) {
  UserStore s;
  ASSERT_TRUE(s.add({"zed", "z!p@ss#word", parse_ipv4("10.1.2.3")}));
  ASSERT_TRUE(s.add({"amy", "a=b", std::nullopt}));
  auto text = s.serialize();
  auto back = UserStore::parse(text, "x");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->serialize(), text);
  EXPECT_EQ(*back->find("zed"), *s.find("zed"));
  EXPECT_EQ(*back->find("amy"), *s.find("amy"));
  EXPECT_LT(text.find("amy"), text.find("zed"));  // sorted
}

class UserStoreFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-users-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(UserStoreFiles, SaveLoad) {
  UserStore s;
  ASSERT_TRUE(s.add({"alice", "pw", parse_ipv4("10.99.0.50")}));
  auto p = dir_ + "/users";
  ASSERT_TRUE(s.save(p));
  struct stat st {};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = UserStore::load(p);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back->find("alice"), *s.find("alice"));
}

TEST_F(UserStoreFiles, LoadRefusesReadableFileAndMissingFile) {
  auto p = dir_ + "/users";
  { std::ofstream(p) << "alice password=pw\n"; }
  chmod(p.c_str(), 0644);
  auto r = UserStore::load(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, UserStoreErrorCode::kFile);
  EXPECT_FALSE(UserStore::load(dir_ + "/none"));
  auto empty = UserStore::load_or_empty(dir_ + "/none");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size(), 0u);
}

TEST_F(UserStoreFiles, ParseErrorFromLoadNamesThePath) {
  auto p = dir_ + "/users";
  ASSERT_TRUE(os::write_file_atomically(p, "ok password=x\nbroken\n"));
  auto r = UserStore::load(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(), p + ":2: password: missing");
}

UserStore two_users() {
  UserStore s;
  EXPECT_TRUE(s.add({"alice", "pw1", parse_ipv4("10.99.0.50")}));
  EXPECT_TRUE(s.add({"bob", "pw2", std::nullopt}));
  return s;
}

TEST(ChapSecrets, RenderBlock) {
  EXPECT_EQ(render_chap_secrets_block(two_users(), "vpn1"),
            "# BEGIN l2tpvpn users for server vpn1 (managed, do not edit)\n"
            "\"alice\" vpn1 \"pw1\" 10.99.0.50\n"
            "\"bob\" vpn1 \"pw2\" *\n"
            "# END l2tpvpn users for server vpn1\n");
}

TEST(ChapSecrets, MergeAppendsThenReplacesKeepingOtherLines) {
  std::string existing = "# Secrets for authentication using CHAP\n# client server secret IP\nother * \"x\" *";
  auto first = merge_chap_secrets(existing, two_users(), "vpn1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->rfind(existing + "\n", 0), 0u);  // untouched prefix, newline added
  UserStore one;
  ASSERT_TRUE(one.add({"carol", "pw3", std::nullopt}));
  auto second = merge_chap_secrets(*first + "tail * \"t\" *\n", one, "vpn1");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->find("alice"), std::string::npos);
  EXPECT_NE(second->find("\"carol\" vpn1 \"pw3\" *"), std::string::npos);
  EXPECT_NE(second->find("other * \"x\" *\n"), std::string::npos);
  EXPECT_NE(second->find("tail * \"t\" *\n"), std::string::npos);
  // Another server's block is left alone.
  auto third = merge_chap_secrets(*second, two_users(), "vpn2");
  ASSERT_TRUE(third);
  EXPECT_NE(third->find("\"carol\" vpn1"), std::string::npos);
  EXPECT_NE(third->find("\"alice\" vpn2"), std::string::npos);
  // Idempotent.
  EXPECT_EQ(*merge_chap_secrets(*third, two_users(), "vpn2"), *third);
}

TEST(ChapSecrets, BrokenMarkers) {
  auto begin = "# BEGIN l2tpvpn users for server vpn1 (managed, do not edit)\n";
  auto end = "# END l2tpvpn users for server vpn1\n";
  EXPECT_EQ(merge_chap_secrets(std::string("x\n") + begin, two_users(), "vpn1").error().code,
            UserStoreErrorCode::kManagedBlock);
  EXPECT_EQ(merge_chap_secrets(end, two_users(), "vpn1").error().line, 1);
  EXPECT_FALSE(merge_chap_secrets(std::string(begin) + begin + end, two_users(), "vpn1"));
  EXPECT_FALSE(merge_chap_secrets(std::string(begin) + end + begin + end, two_users(), "vpn1"));
  EXPECT_FALSE(merge_chap_secrets("", two_users(), "bad name"));
}

TEST_F(UserStoreFiles, WriteChapSecrets) {
  auto p = dir_ + "/chap-secrets";
  { std::ofstream(p) << "# header\n"; }
  chmod(p.c_str(), 0644);
  ASSERT_TRUE(write_chap_secrets(p, two_users(), "l2tpvpn"));
  struct stat st {};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = os::read_private_file(p);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->rfind("# header\n# BEGIN l2tpvpn users for server l2tpvpn", 0), 0u);
  ASSERT_TRUE(write_chap_secrets(dir_ + "/new-chap-secrets", two_users(), "l2tpvpn"));
}

}  // namespace
}  // namespace l2tpvpn::ppp
