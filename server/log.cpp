#include "server/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace l2tpvpn::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};  // the one process-wide setting; set at start-up and on SIGHUP
}

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }

bool parse_level(std::string_view name, Level& out) {
  if (name == "debug") out = Level::kDebug;
  else if (name == "info") out = Level::kInfo;
  else if (name == "warn" || name == "warning") out = Level::kWarn;
  else if (name == "error") out = Level::kError;
  else return false;
  return true;
}

void write(Level l, std::string_view message) {
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line = std::string(stamp) + " " + kNames[static_cast<int>(l)] + " " + std::string(message) + "\n";
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace l2tpvpn::log
