// cli/render: tables, byte counts, durations, wrapping, and the status/sessions tables from a typed snapshot.
#include "cli/render.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

TEST(RenderStatus, WithoutIpsecAndPppAndWithNothingRead) {
  StatusSnapshot s;
  s.server.version = "1.0";
  std::string text = render_status(s);
  EXPECT_FALSE(contains(text, "IPsec"));
  EXPECT_FALSE(contains(text, "PPP"));
  EXPECT_EQ(text,
            "l2tpvpnd 1.0, up 0s, L2TP on -\n"
            "\n"
            "TUNNELS (0)\n"
            "no tunnels\n"
            "\n"
            "SESSIONS (0)\n"
            "no sessions\n");
  EXPECT_EQ(render_sessions({}), "no sessions\n");
}

TEST(RenderStatus, PeerBytesAreEscapedInEveryTable) {
  StatusSnapshot s;
  TunnelView t;
  t.id = 9;
  t.peer_host_name = "\x1b]0;owned\x07\n";
  s.l2tp.tunnels.push_back(t);
  s.l2tp.drops["bad\nreason"] = 1;
  SessionView v;
  v.user = std::string("ev\xffil\r");
  s.sessions.push_back(v);
  std::string text = render_status(s);
  EXPECT_TRUE(contains(text, "\\x1B]0;owned\\x07\\x0A")) << text;
  EXPECT_TRUE(contains(text, "ev\\xFFil\\x0D")) << text;
  EXPECT_TRUE(contains(text, "dropped: bad\\x0Areason=1")) << text;
  for (char c : text) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
}

TEST(RenderUnread, NamesWhatWasNotShownAndStopsAfterEight) {
  EXPECT_EQ(render_unread({}), "");
  EXPECT_EQ(render_unread({"server", "l2tp.tunnels[0].state"}),
            "l2tpvpnctl: not shown, as the daemon sent a value this version cannot read: server, "
            "l2tp.tunnels[0].state (--json shows the whole answer)\n");
  std::vector<std::string> many(11, "x");
  EXPECT_TRUE(contains(render_unread(many), "x, x and 3 more (--json"));
}

TEST(Table, AlignsColumnsAndFillsShortRows) {
  Table t({"A", "LONGER"});
  t.add({"xyz", "1"});
  t.add({"q"});
  EXPECT_EQ(t.render(),
            "A    LONGER\n"
            "xyz  1\n"
            "q    -\n");
}

TEST(Cells, MissingNullAndEmptyAreDashes) {
  json j = json::parse(R"({"s": "x", "e": "", "n": null, "t": true, "f": false, "u": 7, "i": -3, "d": 1.5, "o": {}})");
  EXPECT_EQ(cell(j, "s"), "x");
  EXPECT_EQ(cell(j, "e"), "-");
  EXPECT_EQ(cell(j, "n"), "-");
  EXPECT_EQ(cell(j, "missing"), "-");
  EXPECT_EQ(cell(j, "t"), "yes");
  EXPECT_EQ(cell(j, "f"), "no");
  EXPECT_EQ(cell(j, "u"), "7");
  EXPECT_EQ(cell(j, "i"), "-3");
  EXPECT_EQ(cell(j, "d"), "1.5");
  EXPECT_EQ(cell(j, "o"), "{}");
  EXPECT_EQ(cell(json::array(), "s"), "-");
}

TEST(HumanBytes, PowersOf1024) {
  EXPECT_EQ(human_bytes(0), "0B");
  EXPECT_EQ(human_bytes(1023), "1023B");
  EXPECT_EQ(human_bytes(1536), "1.5K");
  EXPECT_EQ(human_bytes(3145728), "3.0M");
  EXPECT_EQ(human_bytes(uint64_t{5} << 40), "5.0T");
  EXPECT_EQ(human_bytes(uint64_t{5} << 50), "5120.0T");
}

TEST(FormatDuration, EachRange) {
  EXPECT_EQ(format_duration(-1), "-");
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59), "59s");
  EXPECT_EQ(format_duration(307), "5m07s");
  EXPECT_EQ(format_duration(3725), "1h02m");
  EXPECT_EQ(format_duration(273600), "3d04h");
}

TEST(Wrap, BreaksAtTheColumnAndKeepsLongWordsWhole) {
  EXPECT_EQ(wrap("a b", "> ", "  "), "> a b\n");
  std::string words;
  for (int i = 0; i < 40; ++i) words += "word ";
  std::string text = wrap(words, "1. ", "   ");
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1)
    EXPECT_LE(nl - pos, kWrapColumn);
  EXPECT_EQ(text.rfind("1. word", 0), 0u);
  EXPECT_NE(text.find("\n   word"), std::string::npos);
  std::string long_word(200, 'x');
  EXPECT_EQ(wrap("a " + long_word, "", ""), "a\n" + long_word + "\n");
}

TEST(RenderSessions, OneRowPerSession) {
  auto read = sessions_from_json(json::parse(kSampleStatus)["sessions"]);
  ASSERT_TRUE(read.unread.empty());
  std::string text = render_sessions(read.value);
  EXPECT_EQ(text.rfind("TUNNEL  SESSION  USER", 0), 0u);
  EXPECT_NE(text.find("alice  10.99.0.10"), std::string::npos);
  EXPECT_NE(text.find("esp+nat-t"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

}  // namespace
}  // namespace l2tpvpn::cli
