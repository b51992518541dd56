// Leveled logging to stderr, one line per event, "key=value" friendly. Under systemd stderr goes to the journal,
// which adds its own timestamps; run in a terminal, each line carries a monotonic-free wall clock stamp.
//
// Thread-safety: log() may be called from any thread; lines are written with a single write(2).
#pragma once

#include <string>
#include <string_view>

namespace l2tpvpn::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
Level level();
// Parses "debug", "info", "warn", "error". nullopt-like: returns false on an unknown name.
bool parse_level(std::string_view name, Level& out);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) {
  if (level() <= Level::kDebug) write(Level::kDebug, m);
}
inline void info(std::string_view m) {
  if (level() <= Level::kInfo) write(Level::kInfo, m);
}
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

}  // namespace l2tpvpn::log
