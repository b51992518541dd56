// VICI message tree and its wire encoding (strongSwan vici/README.md, "Message format").
//
// A message is an implicit root section holding, in order, key/values, lists of values and named sub-sections.
// Order is kept because some vici trees depend on it (authentication rounds, children). Values are raw blobs
// (charon sends non-null-terminated strings, numbers as decimal text), so they are held in std::string.
//
// The decoder is for untrusted input: it never throws, never reads past its input and rejects what the spec calls
// invalid (unbalanced sections, unterminated or nested lists, items outside lists) with a typed error. Nesting is
// capped at kMaxDepth so that neither decoding nor destroying a hostile tree can exhaust the stack.
// Duplicate keys are kept (lookups return the first); the spec asks senders for unique keys but a receiver
// gains nothing from dropping a daemon's whole answer over one.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace l2tpvpn::vici {

// Element type bytes (README "Message format").
enum class ElementType : uint8_t {
  kSectionStart = 1,
  kSectionEnd = 2,
  kKeyValue = 3,
  kListStart = 4,
  kListItem = 5,
  kListEnd = 6,
};

inline constexpr size_t kMaxNameLength = 255;     // 8-bit name length
inline constexpr size_t kMaxValueLength = 65535;  // 16-bit value length
inline constexpr size_t kMaxDepth = 32;           // sections inside sections; charon's trees use < 8

using List = std::vector<std::string>;
struct Entry;

// A section: the root of a message or a named sub-section. Default: empty.
class Section {
 public:
  // Builders. set()/set_list() replace an existing entry of the same name and kind, so a builder can
  // override a default; add_section() returns the new (or existing) sub-section for chaining.
  Section& set(std::string key, std::string value);
  Section& set_list(std::string key, List items);
  Section& add_section(std::string key);
  // Appends without looking for an existing key (the decoder uses this to keep the wire order exactly).
  void append(Entry entry);

  // Lookups: nullptr when absent or when the key names another kind of entry.
  const std::string* value(std::string_view key) const;
  const List* list(std::string_view key) const;
  const Section* section(std::string_view key) const;
  // Convenience: the value or `fallback`.
  std::string value_or(std::string_view key, std::string_view fallback) const;

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  bool operator==(const Section& o) const;

 private:
  std::vector<Entry> entries_;
};

struct Entry {
  std::string name;
  std::variant<std::string, List, Section> content;
  bool operator==(const Entry& o) const = default;
};

using Message = Section;

enum class MessageError : uint8_t {
  kTruncated,          // an element's name/value runs past the end
  kUnknownElement,     // element type byte not in 1..6
  kUnbalancedSection,  // SECTION_END at the root, or a section still open at the end
  kUnclosedList,       // message ends inside a list
  kBadListContent,     // a non-item element inside a list (including a nested list)
  kItemOutsideList,    // LIST_ITEM or LIST_END outside a list
  kTooDeep,            // more than kMaxDepth nested sections
  kNameTooLong,        // encoding: a name over 255 bytes
  kValueTooLong,       // encoding: a value over 65535 bytes
};
const char* to_string(MessageError e);

// Appends the encoding of `msg` to `out`. Errors: kNameTooLong, kValueTooLong, kTooDeep.
Status<MessageError> encode_message(const Message& msg, Bytes& out);
Result<Bytes, MessageError> encode_message(const Message& msg);

// Decodes a whole message (the rest of a packet). Errors: every decoding MessageError.
Result<Message, MessageError> decode_message(ByteView data);

// Human-readable dump for logs and test failure messages (values shown as text, non-printables escaped).
std::string to_debug_string(const Message& msg);

}  // namespace l2tpvpn::vici
