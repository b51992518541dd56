// display_escape: peer-chosen bytes made printable, one-line, quote-safe ASCII.
#include "common/display.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace l2tpvpn {
namespace {

TEST(DisplayEscape, Table) {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"", ""},
      {"WIN-CLIENT01", "WIN-CLIENT01"},                 // what well-behaved peers send: unchanged
      {"a b~", "a b~"},                                 // 0x20 and 0x7e are printable
      {std::string("\xff", 1), "\\xFF"},                // invalid UTF-8
      {"evil\nevent=forged", "evil\\x0Aevent=forged"},  // a newline cannot start a log line
      {"\r\t\x1b[31m", "\\x0D\\x09\\x1B[31m"},          // nor can terminal escapes reach a terminal
      {std::string("a\0b", 3), "a\\x00b"},
      {"\x7f", "\\x7F"},
      {"q\"uote", "q\\\"uote"},          // cannot close a quoted log value
      {"back\\slash", "back\\\\slash"},  // and the escaping stays unambiguous
      {"\xc3\xa9", "\\xC3\\xA9"},        // valid UTF-8 is escaped too: ASCII out, always
  };
  for (const auto& c : cases) EXPECT_EQ(display_escape(c.in), c.out) << c.in;
}

TEST(DisplayEscape, EveryByteGivesJsonThatDumps) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  nlohmann::json j{{"v", display_escape(all)}};
  EXPECT_NO_THROW((void)j.dump());
  for (char c : display_escape(all)) {
    auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << int(u);
  }
}

TEST(DisplayUnescape, InvertsEscapeForEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(display_unescape(display_escape(all)), all);
  EXPECT_EQ(display_unescape(display_escape("\\x41")), "\\x41");  // an escaped backslash stays one
}

TEST(DisplayUnescape, KeepsWhatIsNotAnEscape) {
  EXPECT_EQ(display_unescape("plain"), "plain");
  EXPECT_EQ(display_unescape("\\xZZ \\x4 \\q \\"), "\\xZZ \\x4 \\q \\");
  EXPECT_EQ(display_unescape("\\x1b"), "\x1b");  // lower-case hex is read too
}

}  // namespace
}  // namespace l2tpvpn
