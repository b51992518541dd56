// How l2tpvpnctl shows things: aligned tables, byte counts and durations for people, word wrapping, and the
// `status` / `sessions` tables made from the daemon's JSON (docs/status.md). Pure: values in, strings out.
// The daemon's JSON is read defensively: a missing key or a value of the wrong type prints as "-", never throws.
//
// Thread-safety: pure functions; Table is a plain value (not for sharing while being filled).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace l2tpvpn::cli {

// Left-aligned columns, two spaces apart, no trailing blanks. A short row is filled with "-".
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }
  void add(std::vector<std::string> row);
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// A JSON member as a table cell: missing, null and "" are "-", booleans "yes"/"no", numbers in decimal.
std::string cell(const nlohmann::json& j, const char* key);
// A byte count member as 1536 -> "1.5K" (B, K, M, G, T; powers of 1024); "-" when it is not a number.
std::string human_bytes(const nlohmann::json& j, const char* key);
// Seconds as "42s", "5m07s", "1h02m", "3d04h"; "-" when negative.
std::string format_duration(int64_t seconds);
// Word-wraps `text` at kWrapColumn: the first line starts with `first`, the others with `rest`. A word longer
// than a line (a command) stays whole. Ends with a newline.
inline constexpr size_t kWrapColumn = 110;
std::string wrap(const std::string& text, const std::string& first, const std::string& rest);

// The tables of `status` / `sessions` from the daemon's JSON. A status document without a top-level "sessions"
// (an older daemon) gets its sessions from the tunnels.
std::string render_status(const nlohmann::json& status);
std::string render_sessions(const nlohmann::json& sessions);

}  // namespace l2tpvpn::cli
