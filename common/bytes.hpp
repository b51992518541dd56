// Bounds-checked big-endian byte reader and writer shared by the wire codecs (L2TP, VICI).
// The reader never reads past its span: every accessor reports failure instead, so a decoder built on it
// cannot over-read whatever a peer sends.
//
// Thread-safety: none; each instance is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace l2tpvpn {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  std::optional<uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
  }
  std::optional<uint16_t> u16() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<uint32_t> u32() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
                 (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  std::optional<uint64_t> u64() {
    auto hi = u32();
    if (!hi) return std::nullopt;
    auto lo = u32();
    if (!lo) return std::nullopt;
    return (uint64_t{*hi} << 32) | *lo;
  }
  // A view of the next n bytes; nullopt if fewer remain.
  std::optional<ByteView> take(size_t n) {
    if (remaining() < n) return std::nullopt;
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  bool skip(size_t n) { return take(n).has_value(); }
  ByteView rest() const { return data_.subspan(pos_); }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes& out) : out_(&out) {}

  void u8(uint8_t v) { buf().push_back(v); }
  void u16(uint16_t v) {
    buf().push_back(static_cast<uint8_t>(v >> 8));
    buf().push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void bytes(ByteView v) { buf().insert(buf().end(), v.begin(), v.end()); }
  void str(std::string_view s) { buf().insert(buf().end(), s.begin(), s.end()); }
  // Overwrites a u16 already written at `at` (used for length fields).
  void patch_u16(size_t at, uint16_t v) {
    buf()[at] = static_cast<uint8_t>(v >> 8);
    buf()[at + 1] = static_cast<uint8_t>(v);
  }
  size_t size() const { return out_ ? out_->size() : own_.size(); }
  Bytes take() { return out_ ? *out_ : std::move(own_); }

 private:
  Bytes& buf() { return out_ ? *out_ : own_; }
  Bytes own_;
  Bytes* out_ = nullptr;
};

inline ByteView as_bytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace l2tpvpn
