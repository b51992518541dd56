// How l2tpvpnctl shows things: aligned tables, byte counts and durations for people, word wrapping, and the
// `status` / `sessions` tables, made from the daemon's typed status snapshot (server/status.hpp: the CLI reads
// the daemon's JSON back with status_from_json, which never throws). Pure: values in, strings out. Every string
// a table shows passes through display_escape, so peer-chosen bytes never reach the terminal raw.
//
// Thread-safety: pure functions; Table is a plain value (not for sharing while being filled).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/status.hpp"

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
// A byte count as 1536 -> "1.5K" (B, K, M, G, T; powers of 1024).
std::string human_bytes(uint64_t bytes);
// Seconds as "42s", "5m07s", "1h02m", "3d04h"; "-" when negative.
std::string format_duration(int64_t seconds);
// Word-wraps `text` at kWrapColumn: the first line starts with `first`, the others with `rest`. A word longer
// than a line (a command) stays whole. Ends with a newline.
inline constexpr size_t kWrapColumn = 110;
std::string wrap(const std::string& text, const std::string& first, const std::string& rest);

// The tables of `status` / `sessions`.
std::string render_status(const StatusSnapshot& status);
std::string render_sessions(const std::vector<SessionView>& sessions);
// One line naming the fields of the daemon's answer that could not be read (status_from_json's `unread`), or ""
// when there are none.
std::string render_unread(const std::vector<std::string>& unread);

}  // namespace l2tpvpn::cli
