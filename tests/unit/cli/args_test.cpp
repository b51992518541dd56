// cli/args: the global options, each command's options and positionals, and the messages of every error kind
// (never echoing what follows '=').
#include "cli/args.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::cli {
namespace {

const CommandSpec kUserAdd{.options = {{"address", true}, {"password-stdin"}}, .positionals = {"NAME"}, .required = 1};
const CommandSpec kDisconnect{.options = {{"user", true}}, .positionals = {"TUNNEL", "SESSION"}};

Result<CommandArgs, ArgsError> parse(const CommandSpec& spec, const std::vector<std::string>& words) {
  return parse_command_args(spec, words);
}

// The message of the error `words` give; "" if they parse.
std::string error_of(const CommandSpec& spec, const std::vector<std::string>& words) {
  auto r = parse(spec, words);
  return r ? std::string() : r.error().to_string();
}
std::string global_error_of(const std::vector<std::string>& words) {
  auto r = parse_global_args(words);
  return r ? std::string() : r.error().to_string();
}

TEST(CommandArgs, OptionsAndPositionalsInEverySpelling) {
  auto r = parse(kUserAdd, {"bob", "--address", "10.0.0.5", "--password-stdin"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->positionals, std::vector<std::string>{"bob"});
  EXPECT_EQ(r->value("address"), "10.0.0.5");
  EXPECT_TRUE(r->has("password-stdin"));
  EXPECT_EQ(r->value("password-stdin"), "");

  r = parse(kUserAdd, {"--address=10.0.0.6", "bob"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value("address"), "10.0.0.6");
  EXPECT_FALSE(r->has("password-stdin"));
  EXPECT_EQ(r->value("nothing"), "");

  r = parse(kDisconnect, {"12", "34"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->positionals, (std::vector<std::string>{"12", "34"}));
  EXPECT_TRUE(r->options.empty());
}

TEST(CommandArgs, ValuesAreTakenAsTheyCome) {
  // The word after an option that takes a value is its value, even when it looks like an option.
  auto r = parse(kDisconnect, {"--user", "--json"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value("user"), "--json");
  // "--name=" is an empty value, like "--name ''"; a value may contain '='.
  r = parse(kDisconnect, {"--user="});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has("user"));
  EXPECT_EQ(r->value("user"), "");
  r = parse(kDisconnect, {"--user=a=b"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value("user"), "a=b");
  // The last of a repeated option counts.
  r = parse(kDisconnect, {"--user", "a", "--user", "b"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value("user"), "b");
  // After "--" everything is positional; "-" alone is a positional.
  r = parse(kDisconnect, {"--", "--user"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->positionals, std::vector<std::string>{"--user"});
  r = parse(kDisconnect, {"-"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->positionals, std::vector<std::string>{"-"});
}

TEST(CommandArgs, ErrorMessages) {
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--adress", "x"}), "unknown option --adress");
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--addr", "x"}), "unknown option --addr") << "no guessing from a prefix";
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--Address", "x"}), "unknown option --Address") << "no case folding";
  EXPECT_EQ(error_of(kDisconnect, {"-5"}), "unknown option -5");
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--address"}), "--address needs a value");
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--password-stdin=yes"}), "--password-stdin takes no value");
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--password-stdin="}), "--password-stdin takes no value");
  EXPECT_EQ(error_of(kUserAdd, {}), "missing NAME");
  EXPECT_EQ(error_of(kUserAdd, {"--password-stdin"}), "missing NAME");
  EXPECT_EQ(error_of(kUserAdd, {"a", "b", "c"}), "unexpected argument \"b\"");
  EXPECT_EQ(error_of(kDisconnect, {"1", "2", "3"}), "unexpected argument \"3\"");
  // A positional's name is not an option.
  EXPECT_EQ(error_of(kUserAdd, {"--NAME", "bob"}), "unknown option --NAME");
  EXPECT_EQ(error_of(kDisconnect, {"--TUNNEL=5"}), "unknown option --TUNNEL");
  EXPECT_EQ(error_of(kDisconnect, {"--unexpected-argument=5"}), "unknown option --unexpected-argument");

  auto r = parse(kUserAdd, {"bob", "--bogus"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ArgsErrorKind::kUnknownOption);
  EXPECT_EQ(r.error().option, "--bogus");
  r = parse(kUserAdd, {"a", "b"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ArgsErrorKind::kUnexpectedArgument);
  EXPECT_EQ(r.error().argument, "b");
}

TEST(CommandArgs, ValuesAfterEqualsAreNeverEchoed) {
  for (const std::vector<std::string>& words : {std::vector<std::string>{"bob", "--secret=hunter2"},
                                                {"bob", "---x=hunter2"},
                                                {"bob", "-xhunter2"},
                                                {"bob", "-x=hunter2"},
                                                {"bob", "--password-stdin=hunter2"},
                                                {"bob", "--nope=hunter2", "--address"}}) {
    std::string message = error_of(kUserAdd, words);
    EXPECT_FALSE(message.empty()) << words[1];
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
  EXPECT_EQ(error_of(kUserAdd, {"bob", "--secret=hunter2"}), "unknown option --secret");
  EXPECT_EQ(error_of(kUserAdd, {"bob", "-xhunter2"}), "unknown option -x");
}

TEST(CommandArgs, PasswordOptionsAreRefusedInEverySpelling) {
  for (const std::vector<std::string>& words : {std::vector<std::string>{"bob", "--password", "topsecret"},
                                                {"bob", "--password=topsecret"},
                                                {"bob", "-p", "topsecret"},
                                                {"bob", "-ptopsecret"},
                                                {"bob", "--password"},
                                                {"--password=", "bob"}}) {
    auto r = parse(kUserAdd, words);
    ASSERT_FALSE(r) << words[1];
    EXPECT_EQ(r.error().kind, ArgsErrorKind::kPasswordInArguments) << words[0] << " " << words[1];
    EXPECT_EQ(r.error().to_string(),
              "passwords are not taken on the command line (ps and shell history would show them): leave it out to "
              "get a generated one, or use --password-stdin");
  }
  // Also where the command has no password at all.
  auto r = parse(kDisconnect, {"--password=x"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ArgsErrorKind::kPasswordInArguments);
}

TEST(GlobalArgs, StopAtTheCommandWord) {
  auto g = parse_global_args({"-c", "/etc/x.conf", "--socket=/run/s", "user", "add", "-c", "--json"});
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->config_path, "/etc/x.conf");
  EXPECT_TRUE(g->config_given);
  EXPECT_EQ(g->socket, "/run/s");
  EXPECT_FALSE(g->help);
  EXPECT_EQ(g->command, (std::vector<std::string>{"user", "add", "-c", "--json"}));

  g = parse_global_args({"status"});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->config_path, kDefaultConfigPath);
  EXPECT_FALSE(g->config_given);
  EXPECT_FALSE(g->socket);

  g = parse_global_args({});
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->command.empty());

  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"-h"}, {"--help", "status"}, {"-c", "x", "-h"}}) {
    g = parse_global_args(words);
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->help) << words[0];
  }
  // -c=FILE and -cFILE name the file; the last -c counts.
  g = parse_global_args({"-c=/a.conf", "status"});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->config_path, "/a.conf");
  g = parse_global_args({"-c/a.conf", "-c", "/b.conf", "status"});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->config_path, "/b.conf");
  // "--" ends the global options too.
  g = parse_global_args({"--", "-x"});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->command, std::vector<std::string>{"-x"});
}

TEST(GlobalArgs, ErrorMessagesNameTheOptionAsTyped) {
  EXPECT_EQ(global_error_of({"--bogus", "status"}), "unknown option --bogus");
  EXPECT_EQ(global_error_of({"--bogus=secret", "status"}), "unknown option --bogus");
  EXPECT_EQ(global_error_of({"-x"}), "unknown option -x");
  EXPECT_EQ(global_error_of({"--conf", "x", "status"}), "unknown option --conf");
  EXPECT_EQ(global_error_of({"-c"}), "-c needs a value");
  EXPECT_EQ(global_error_of({"--config"}), "--config needs a value");
  EXPECT_EQ(global_error_of({"-c", "x", "-s"}), "-s needs a value");
  EXPECT_EQ(global_error_of({"--socket="}), "--socket needs a value");
  EXPECT_EQ(global_error_of({"-s", "", "status"}), "-s needs a value");
  EXPECT_EQ(global_error_of({"-c="}), "-c needs a value");
  EXPECT_EQ(global_error_of({"--help=yes"}), "--help takes no value");
  EXPECT_EQ(global_error_of({"--command=status"}), "unknown option --command");
  EXPECT_EQ(global_error_of({"--password=hunter2", "user", "add", "x"}),
            (ArgsError{ArgsErrorKind::kPasswordInArguments, {}, {}}.to_string()));
}

TEST(ParseId, OnlyDecimal1To65535) {
  EXPECT_EQ(parse_id("1"), 1);
  EXPECT_EQ(parse_id("65535"), 65535);
  for (const char* bad : {"0", "65536", "", "12abc", "-5", "+5", " 5", "0x10"}) EXPECT_FALSE(parse_id(bad)) << bad;
}

}  // namespace
}  // namespace l2tpvpn::cli
