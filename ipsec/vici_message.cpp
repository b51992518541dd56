#include "ipsec/vici_message.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace l2tpvpn::vici {

namespace {

template <class T>
Entry* find_kind(std::vector<Entry>& entries, std::string_view key) {
  for (auto& e : entries)
    if (e.name == key && std::holds_alternative<T>(e.content)) return &e;
  return nullptr;
}

template <class T>
const T* find_const(const std::vector<Entry>& entries, std::string_view key) {
  for (const auto& e : entries)
    if (e.name == key) return std::get_if<T>(&e.content);
  return nullptr;
}

void put_name(ByteWriter& w, std::string_view name) {
  w.u8(static_cast<uint8_t>(name.size()));
  w.str(name);
}

void put_value(ByteWriter& w, std::string_view value) {
  w.u16(static_cast<uint16_t>(value.size()));
  w.str(value);
}

Status<MessageError> encode_section(const Section& s, ByteWriter& w, size_t depth) {
  if (depth > kMaxDepth) return unexpected(MessageError::kTooDeep);
  for (const auto& e : s.entries()) {
    if (e.name.size() > kMaxNameLength) return unexpected(MessageError::kNameTooLong);
    if (const auto* v = std::get_if<std::string>(&e.content)) {
      if (v->size() > kMaxValueLength) return unexpected(MessageError::kValueTooLong);
      w.u8(static_cast<uint8_t>(ElementType::kKeyValue));
      put_name(w, e.name);
      put_value(w, *v);
    } else if (const auto* l = std::get_if<List>(&e.content)) {
      w.u8(static_cast<uint8_t>(ElementType::kListStart));
      put_name(w, e.name);
      for (const auto& item : *l) {
        if (item.size() > kMaxValueLength) return unexpected(MessageError::kValueTooLong);
        w.u8(static_cast<uint8_t>(ElementType::kListItem));
        put_value(w, item);
      }
      w.u8(static_cast<uint8_t>(ElementType::kListEnd));
    } else {
      w.u8(static_cast<uint8_t>(ElementType::kSectionStart));
      put_name(w, e.name);
      auto st = encode_section(std::get<Section>(e.content), w, depth + 1);
      if (!st) return st;
      w.u8(static_cast<uint8_t>(ElementType::kSectionEnd));
    }
  }
  return {};
}

std::optional<std::string> get_name(ByteReader& r) {
  auto len = r.u8();
  if (!len) return std::nullopt;
  auto bytes = r.take(*len);
  if (!bytes) return std::nullopt;
  return std::string(bytes->begin(), bytes->end());
}

std::optional<std::string> get_value(ByteReader& r) {
  auto len = r.u16();
  if (!len) return std::nullopt;
  auto bytes = r.take(*len);
  if (!bytes) return std::nullopt;
  return std::string(bytes->begin(), bytes->end());
}

void dump(const Section& s, std::string& out, int indent) {
  auto quote = [](const std::string& v) {
    std::string q;
    for (unsigned char c : v) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        q.push_back(static_cast<char>(c));
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        q += buf;
      }
    }
    return q;
  };
  std::string pad(static_cast<size_t>(indent) * 2, ' ');
  for (const auto& e : s.entries()) {
    if (const auto* v = std::get_if<std::string>(&e.content)) {
      out += pad + e.name + " = " + quote(*v) + "\n";
    } else if (const auto* l = std::get_if<List>(&e.content)) {
      out += pad + e.name + " = [";
      for (size_t i = 0; i < l->size(); ++i) out += (i ? ", " : " ") + quote((*l)[i]);
      out += " ]\n";
    } else {
      out += pad + e.name + " {\n";
      dump(std::get<Section>(e.content), out, indent + 1);
      out += pad + "}\n";
    }
  }
}

}  // namespace

Section& Section::set(std::string key, std::string value) {
  if (Entry* e = find_kind<std::string>(entries_, key)) {
    e->content = std::move(value);
  } else {
    entries_.push_back(Entry{std::move(key), std::move(value)});
  }
  return *this;
}

Section& Section::set_list(std::string key, List items) {
  if (Entry* e = find_kind<List>(entries_, key)) {
    e->content = std::move(items);
  } else {
    entries_.push_back(Entry{std::move(key), std::move(items)});
  }
  return *this;
}

Section& Section::add_section(std::string key) {
  if (Entry* e = find_kind<Section>(entries_, key)) return std::get<Section>(e->content);
  entries_.push_back(Entry{std::move(key), Section{}});
  return std::get<Section>(entries_.back().content);
}

void Section::append(Entry entry) {
  entries_.push_back(std::move(entry));
}

const std::string* Section::value(std::string_view key) const {
  return find_const<std::string>(entries_, key);
}
const List* Section::list(std::string_view key) const {
  return find_const<List>(entries_, key);
}
const Section* Section::section(std::string_view key) const {
  return find_const<Section>(entries_, key);
}

std::string Section::value_or(std::string_view key, std::string_view fallback) const {
  const std::string* v = value(key);
  return v ? *v : std::string(fallback);
}

bool Section::operator==(const Section& o) const {
  return entries_ == o.entries_;
}

const char* to_string(MessageError e) {
  switch (e) {
    case MessageError::kTruncated: return "truncated element";
    case MessageError::kUnknownElement: return "unknown element type";
    case MessageError::kUnbalancedSection: return "unbalanced section";
    case MessageError::kUnclosedList: return "unclosed list";
    case MessageError::kBadListContent: return "non-item element inside a list";
    case MessageError::kItemOutsideList: return "list item outside a list";
    case MessageError::kTooDeep: return "sections nested too deeply";
    case MessageError::kNameTooLong: return "name longer than 255 bytes";
    case MessageError::kValueTooLong: return "value longer than 65535 bytes";
  }
  return "unknown message error";
}

Status<MessageError> encode_message(const Message& msg, Bytes& out) {
  ByteWriter w(out);
  const size_t start = out.size();
  auto st = encode_section(msg, w, 0);
  if (!st) out.resize(start);  // leave no half-written message behind
  return st;
}

Result<Bytes, MessageError> encode_message(const Message& msg) {
  Bytes out;
  auto st = encode_message(msg, out);
  if (!st) return unexpected(st.error());
  return out;
}

Result<Message, MessageError> decode_message(ByteView data) {
  ByteReader r(data);
  // Iterative descent: `stack` holds the sections being filled (root first), so depth is bounded by kMaxDepth
  // rather than by the C++ stack. A section is moved into its parent when its SECTION_END arrives.
  std::vector<Entry> stack;
  stack.reserve(4);
  stack.push_back(Entry{"", Section{}});
  auto top = [&]() -> Section& { return std::get<Section>(stack.back().content); };
  std::optional<Entry> open_list;  // the list being filled; appended to top() at LIST_END

  while (!r.empty()) {
    const auto type = r.u8();
    switch (static_cast<ElementType>(*type)) {
      case ElementType::kSectionStart: {
        if (open_list) return unexpected(MessageError::kBadListContent);
        auto name = get_name(r);
        if (!name) return unexpected(MessageError::kTruncated);
        if (stack.size() > kMaxDepth) return unexpected(MessageError::kTooDeep);
        stack.push_back(Entry{std::move(*name), Section{}});
        break;
      }
      case ElementType::kSectionEnd: {
        if (open_list) return unexpected(MessageError::kBadListContent);
        if (stack.size() == 1) return unexpected(MessageError::kUnbalancedSection);
        Entry done = std::move(stack.back());
        stack.pop_back();
        top().append(std::move(done));
        break;
      }
      case ElementType::kKeyValue: {
        if (open_list) return unexpected(MessageError::kBadListContent);
        auto name = get_name(r);
        if (!name) return unexpected(MessageError::kTruncated);
        auto value = get_value(r);
        if (!value) return unexpected(MessageError::kTruncated);
        top().append(Entry{std::move(*name), std::move(*value)});
        break;
      }
      case ElementType::kListStart: {
        if (open_list) return unexpected(MessageError::kBadListContent);
        auto name = get_name(r);
        if (!name) return unexpected(MessageError::kTruncated);
        open_list = Entry{std::move(*name), List{}};
        break;
      }
      case ElementType::kListItem: {
        if (!open_list) return unexpected(MessageError::kItemOutsideList);
        auto value = get_value(r);
        if (!value) return unexpected(MessageError::kTruncated);
        std::get<List>(open_list->content).push_back(std::move(*value));
        break;
      }
      case ElementType::kListEnd:
        if (!open_list) return unexpected(MessageError::kItemOutsideList);
        top().append(std::move(*open_list));
        open_list.reset();
        break;
      default: return unexpected(MessageError::kUnknownElement);
    }
  }
  if (open_list) return unexpected(MessageError::kUnclosedList);
  if (stack.size() != 1) return unexpected(MessageError::kUnbalancedSection);
  return std::get<Section>(std::move(stack.front().content));
}

std::string to_debug_string(const Message& msg) {
  std::string out;
  dump(msg, out, 0);
  return out;
}

}  // namespace l2tpvpn::vici
