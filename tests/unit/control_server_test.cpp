#include "server/control_server.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

namespace l2tpvpn {
namespace {

using nlohmann::json;

TEST(ControlServer, AnswersKnownAndUnknownCommands) {
  boost::asio::io_context io;
  ControlServer s(io, "/unused");
  s.handle("echo", [](const json& r) { return json{{"echo", r.value("x", 0)}}; });
  s.handle("boom", [](const json&) -> json { throw std::runtime_error("bad"); });
  EXPECT_EQ(json::parse(s.answer(R"({"cmd":"echo","x":5})")), (json{{"echo", 5}, {"ok", true}}));
  EXPECT_FALSE(json::parse(s.answer(R"({"cmd":"nope"})"))["ok"].get<bool>());
  EXPECT_FALSE(json::parse(s.answer("not json"))["ok"].get<bool>());
  EXPECT_FALSE(json::parse(s.answer("[1,2]"))["ok"].get<bool>());
  EXPECT_FALSE(json::parse(s.answer(R"({"x":1})"))["ok"].get<bool>());
  auto boom = json::parse(s.answer(R"({"cmd":"boom"})"));
  EXPECT_FALSE(boom["ok"].get<bool>());
  EXPECT_NE(boom["error"].get<std::string>().find("bad"), std::string::npos);
}

TEST(ControlServer, SocketIsRootOnlyAndRoundTrips) {
  std::string path = ::testing::TempDir() + "/l2tpvpn-ctl-test.sock";
  boost::asio::io_context io;
  ControlServer s(io, path);
  s.handle("ping", [](const json&) { return json{{"pong", true}}; });
  auto started = s.start();
  ASSERT_TRUE(started) << (started ? "" : started.error().message);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::thread t([&] { io.run(); });
  json r = control_request(path, json{{"cmd", "ping"}});
  EXPECT_TRUE(r["ok"].get<bool>());
  EXPECT_TRUE(r["pong"].get<bool>());
  boost::asio::post(io, [&] {
    s.stop();
    io.stop();
  });
  t.join();
  EXPECT_FALSE(control_request(path, json{{"cmd", "ping"}})["ok"].get<bool>());
}

}  // namespace
}  // namespace l2tpvpn
