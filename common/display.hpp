// Peer-chosen strings (an L2TP Host Name, a StopCCN/CDN result message, a user name) are bytes, not text: they
// may hold invalid UTF-8, newlines or terminal escapes. display_escape() turns such bytes into printable ASCII
// for every place they are shown (logs, the status JSON, tables): bytes 0x20-0x7e are kept, except `\` and `"`,
// which become `\\` and `\"`; every other byte becomes `\xNN` (upper-case hex). The result is valid UTF-8 and
// JSON-safe (nlohmann's dump() throws on invalid UTF-8), one line, and cannot close a quoted log value.
// Printable ASCII without `\` and `"` (what well-behaved peers send) is returned unchanged.
// display_unescape() is its inverse, for a reader of an escaped document (l2tpvpnctl reading /status): it gives
// back the peer's bytes, so that each place that shows them escapes once. A `\` that starts none of the three
// forms is kept as it is.
// Pure; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

namespace l2tpvpn {

inline std::string display_escape(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += ch;
    } else if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

inline std::string display_unescape(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == '"')) {
      out += text[++i];
    } else if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x' && hex(text[i + 2]) >= 0 &&
               hex(text[i + 3]) >= 0) {
      out += static_cast<char>(hex(text[i + 2]) * 16 + hex(text[i + 3]));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace l2tpvpn
