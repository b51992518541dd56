#include "ipsec/vici_message.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::vici {
namespace {

Bytes bytes_of(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(static_cast<uint8_t>(x));
  return b;
}

// The encoding example from strongSwan's vici/README.md, byte for byte.
Bytes readme_example() {
  return bytes_of({3,   4,   'k', 'e', 'y', '1', 0,   6,   'v', 'a', 'l', 'u', 'e', '1', 1,   8,   's', 'e', 'c', 't',
                   'i', 'o', 'n', '1', 1,   11,  's', 'u', 'b', '-', 's', 'e', 'c', 't', 'i', 'o', 'n', 3,   4,   'k',
                   'e', 'y', '2', 0,   6,   'v', 'a', 'l', 'u', 'e', '2', 2,   4,   5,   'l', 'i', 's', 't', '1', 5,
                   0,   5,   'i', 't', 'e', 'm', '1', 5,   0,   5,   'i', 't', 'e', 'm', '2', 6,   2});
}

Message readme_tree() {
  Message m;
  m.set("key1", "value1");
  Section& s1 = m.add_section("section1");
  s1.add_section("sub-section").set("key2", "value2");
  s1.set_list("list1", {"item1", "item2"});
  return m;
}

TEST(ViciMessage, EncodesTheReadmeExampleExactly) {
  auto enc = encode_message(readme_tree());
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, readme_example());
}

TEST(ViciMessage, DecodesTheReadmeExample) {
  auto dec = decode_message(readme_example());
  ASSERT_TRUE(dec) << to_string(dec.error());
  EXPECT_EQ(*dec, readme_tree());
  ASSERT_NE(dec->section("section1"), nullptr);
  EXPECT_EQ(*dec->section("section1")->section("sub-section")->value("key2"), "value2");
  EXPECT_EQ(dec->section("section1")->list("list1")->size(), 2u);
}

// One round trip per element shape, including the edge sizes of names and values.
TEST(ViciMessage, RoundTripsEveryElementShape) {
  std::vector<Message> cases;
  cases.emplace_back();  // empty message
  {
    Message m;
    m.set("", "");  // empty name and value are legal
    cases.push_back(m);
  }
  {
    Message m;
    m.set(std::string(255, 'n'), std::string(65535, 'v'));
    cases.push_back(m);
  }
  {
    Message m;
    m.set_list("empty", {});
    m.set_list("one", {"x"});
    m.set_list("binary", {std::string("\0\xff\x01", 3)});
    cases.push_back(m);
  }
  {
    Message m;
    m.add_section("empty");
    Section* s = &m.add_section("a");
    for (size_t i = 1; i < kMaxDepth; ++i) s = &s->add_section("n" + std::to_string(i));
    s->set("deep", "yes");
    cases.push_back(m);
  }
  for (const auto& m : cases) {
    auto enc = encode_message(m);
    ASSERT_TRUE(enc);
    auto dec = decode_message(*enc);
    ASSERT_TRUE(dec) << to_string(dec.error());
    EXPECT_EQ(*dec, m) << to_debug_string(m);
  }
}

TEST(ViciMessage, KeepsWireOrderAndDuplicates) {
  auto dec = decode_message(bytes_of({3, 1, 'b', 0, 1, '1', 3, 1, 'a', 0, 1, '2', 3, 1, 'b', 0, 1, '3'}));
  ASSERT_TRUE(dec);
  ASSERT_EQ(dec->entries().size(), 3u);
  EXPECT_EQ(dec->entries()[0].name, "b");
  EXPECT_EQ(*dec->value("b"), "1");  // first wins
}

TEST(ViciMessage, BuilderReplacesSameKindAndLookupsCheckKind) {
  Message m;
  m.set("k", "1").set("k", "2");
  m.set_list("l", {"a"}).set_list("l", {"b"});
  EXPECT_EQ(m.entries().size(), 2u);
  EXPECT_EQ(*m.value("k"), "2");
  EXPECT_EQ(m.list("k"), nullptr);
  EXPECT_EQ(m.section("l"), nullptr);
  EXPECT_EQ(m.value_or("missing", "dflt"), "dflt");
}

TEST(ViciMessage, EncoderRejectsOversizedNamesAndValues) {
  Message a;
  a.set(std::string(256, 'n'), "v");
  EXPECT_EQ(encode_message(a).error(), MessageError::kNameTooLong);
  Message b;
  b.set("k", std::string(65536, 'v'));
  EXPECT_EQ(encode_message(b).error(), MessageError::kValueTooLong);
  Message c;
  c.set_list("l", {std::string(65536, 'v')});
  EXPECT_EQ(encode_message(c).error(), MessageError::kValueTooLong);
  Message d;
  Section* s = &d;
  for (size_t i = 0; i <= kMaxDepth + 1; ++i) s = &s->add_section("x");
  EXPECT_EQ(encode_message(d).error(), MessageError::kTooDeep);
  // A failed encode leaves the output buffer as it was.
  Bytes out{9, 9};
  EXPECT_FALSE(encode_message(a, out));
  EXPECT_EQ(out, (Bytes{9, 9}));
}

struct BadCase {
  const char* what;
  Bytes input;
  MessageError error;
};

TEST(ViciMessage, RejectsMalformedInputWithTypedErrors) {
  std::vector<BadCase> cases = {
      {"unknown element 0", bytes_of({0}), MessageError::kUnknownElement},
      {"unknown element 7", bytes_of({7}), MessageError::kUnknownElement},
      {"kv without name length", bytes_of({3}), MessageError::kTruncated},
      {"kv name runs past end", bytes_of({3, 5, 'a'}), MessageError::kTruncated},
      {"kv without value length", bytes_of({3, 1, 'a'}), MessageError::kTruncated},
      {"kv half value length", bytes_of({3, 1, 'a', 0}), MessageError::kTruncated},
      {"kv value runs past end", bytes_of({3, 1, 'a', 0, 4, 'x'}), MessageError::kTruncated},
      {"section name truncated", bytes_of({1, 3, 'a'}), MessageError::kTruncated},
      {"section not closed", bytes_of({1, 1, 'a'}), MessageError::kUnbalancedSection},
      {"end at root", bytes_of({2}), MessageError::kUnbalancedSection},
      {"list not closed", bytes_of({4, 1, 'l', 5, 0, 0}), MessageError::kUnclosedList},
      {"nested list", bytes_of({4, 1, 'l', 4, 1, 'm', 6, 6}), MessageError::kBadListContent},
      {"kv in list", bytes_of({4, 1, 'l', 3, 1, 'a', 0, 0, 6}), MessageError::kBadListContent},
      {"section in list", bytes_of({4, 1, 'l', 1, 1, 's', 2, 6}), MessageError::kBadListContent},
      {"section end in list", bytes_of({1, 1, 's', 4, 1, 'l', 2}), MessageError::kBadListContent},
      {"item outside list", bytes_of({5, 0, 0}), MessageError::kItemOutsideList},
      {"list end outside list", bytes_of({6}), MessageError::kItemOutsideList},
      {"item truncated", bytes_of({4, 1, 'l', 5, 0}), MessageError::kTruncated},
  };
  Bytes deep;
  for (size_t i = 0; i <= kMaxDepth; ++i) deep.insert(deep.end(), {1, 0});
  cases.push_back({"too deep", deep, MessageError::kTooDeep});
  for (const auto& c : cases) {
    auto r = decode_message(c.input);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error(), c.error) << c.what << ": " << to_string(r.error());
  }
}

TEST(ViciMessage, HostileDepthAtTheFrameCapDoesNotRecurse) {
  Bytes deep;
  while (deep.size() < 512 * 1024) deep.insert(deep.end(), {1, 0});
  EXPECT_EQ(decode_message(deep).error(), MessageError::kTooDeep);
}

TEST(ViciMessage, DebugStringEscapesBinary) {
  Message m;
  m.set("k", std::string("a\x01", 2));
  m.add_section("s").set_list("l", {"x"});
  EXPECT_EQ(to_debug_string(m), "k = a\\x01\ns {\n  l = [ x ]\n}\n");
}

}  // namespace
}  // namespace l2tpvpn::vici
