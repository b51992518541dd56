// cli/render: tables, byte counts, durations, wrapping, and the status/sessions tables from the daemon's JSON.
#include "cli/render.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

TEST(RenderStatus, StatusOfAnOlderDaemonAndOfGarbage) {
  // No "sessions" and no "ipsec": the sessions come from the tunnels.
  json s = json::parse(kSampleStatus);
  s.erase("sessions");
  s.erase("ipsec");
  s.erase("ppp");
  std::string text = render_status(s);
  EXPECT_FALSE(contains(text, "IPsec"));
  EXPECT_TRUE(contains(text, "SESSIONS (1)"));
  EXPECT_TRUE(contains(text, "17      3        -"));
  // Wrong types everywhere never throw.
  for (const char* g : {R"({})", R"([])", R"({"server":5,"l2tp":{"tunnels":{"a":1}},"sessions":[1,"x",{}]})",
                        R"({"ipsec":[1],"l2tp":{"tunnels":[5,{"sessions":7}],"drops":[]}})"}) {
    EXPECT_NO_THROW(render_status(json::parse(g))) << g;
  }
  EXPECT_EQ(render_sessions(json::array()), "no sessions\n");
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
  auto hb = [](json v) { return human_bytes(json{{"b", v}}, "b"); };
  EXPECT_EQ(hb(0), "0B");
  EXPECT_EQ(hb(1023), "1023B");
  EXPECT_EQ(hb(1536), "1.5K");
  EXPECT_EQ(hb(3145728), "3.0M");
  EXPECT_EQ(hb(uint64_t{5} << 40), "5.0T");
  EXPECT_EQ(hb(uint64_t{5} << 50), "5120.0T");
  EXPECT_EQ(hb("12"), "-");
  EXPECT_EQ(human_bytes(json::object(), "b"), "-");
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
  json sessions = json::parse(kSampleStatus)["sessions"];
  std::string text = render_sessions(sessions);
  EXPECT_EQ(text.rfind("TUNNEL  SESSION  USER", 0), 0u);
  EXPECT_NE(text.find("alice  10.99.0.10"), std::string::npos);
  EXPECT_NE(text.find("esp+nat-t"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_EQ(render_sessions(json::object()), "no sessions\n");
}

}  // namespace
}  // namespace l2tpvpn::cli
