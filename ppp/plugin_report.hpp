// Parser for what our pppd plugin (ppp/plugin/l2tpvpn_plugin.c) reports over its report descriptor (pure).
//
// Protocol version 1: ASCII lines "<event> key=value ...\n", values percent-encoded (%XX) for every byte outside
// 0x21..0x7e and for '%' and '='. Events:
//   hello   version=1 pppd=<version> pid=<pid>           the plugin loaded and the descriptor works
//   phase   value=<0..12> name=<name>                    pppd entered a phase (pppd_exit.hpp PppPhase)
//   auth    peer=<name>                                  the peer authenticated as <name> (after CHAP/PAP)
//   auth-fail peer=<name>                                the peer's credentials for <name> were refused (wrong
//                                                        password or unknown user: the plugin does not say which)
//   ip-up   ifname=<if> local=<a.b.c.d> remote=<a.b.c.d> IPCP is up on interface <if>
//   ip-down ifname=<if>                                  IPCP went down
//   stats   bytes_in= bytes_out= packets_in= packets_out= connect_time=   counters at IPCP down
//   exit    status=<n>                                   pppd is exiting with status n (pppd_exit.hpp)
// Any line may carry dropped=<n>: lines the plugin could not write before this one (non-blocking descriptor).
// Unknown keys are ignored (a newer plugin may add some); unknown events are an error the caller may ignore.
// The peer name is chosen by the remote user: it arrives escaped and is returned decoded, byte for byte; it
// is only an identifier and must still be checked against the user store before it means anything.
//
// Thread-safety: pure functions; ReportLineSplitter is a value type for one reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ppp/ipv4.hpp"
#include "ppp/pppd_exit.hpp"

namespace l2tpvpn::ppp {

inline constexpr size_t kMaxReportLine = 1024;  // the plugin never writes longer lines

struct HelloEvent {
  int version = 0;
  std::string pppd_version;
  int pid = 0;
  bool operator==(const HelloEvent&) const = default;
};
struct PhaseEvent {
  PppPhase phase = PppPhase::kDead;
  bool operator==(const PhaseEvent&) const = default;
};
struct AuthEvent {
  std::string peer;
  bool operator==(const AuthEvent&) const = default;
};
struct AuthFailEvent {
  std::string peer;
  bool operator==(const AuthFailEvent&) const = default;
};
struct IpUpEvent {
  std::string ifname;
  Ipv4Address local;
  Ipv4Address remote;
  bool operator==(const IpUpEvent&) const = default;
};
struct IpDownEvent {
  std::string ifname;
  bool operator==(const IpDownEvent&) const = default;
};
struct StatsEvent {  // pppd's link_stats: 32-bit counters (they wrap on long sessions)
  uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  uint64_t connect_time_s = 0;
  bool operator==(const StatsEvent&) const = default;
};
struct ExitEvent {
  PppdExit status = PppdExit::kUnknown;
  int raw_status = 0;
  bool operator==(const ExitEvent&) const = default;
};

using PluginEventBody =
    std::variant<HelloEvent, PhaseEvent, AuthEvent, AuthFailEvent, IpUpEvent, IpDownEvent, StatsEvent, ExitEvent>;

struct PluginEvent {
  PluginEventBody body;
  uint64_t dropped_before = 0;  // dropped=<n>
  bool operator==(const PluginEvent&) const = default;
};

enum class ReportErrorCode {
  kEmpty,          // blank line
  kUnknownEvent,   // first word not an event we know
  kMalformed,      // a word that is not key=value, bad %XX, a key twice
  kMissingKey,     // a required key is absent
  kBadValue,       // a value does not parse (number, address, phase out of range)
  kLineTooLong,    // from ReportLineSplitter: more than kMaxReportLine bytes without '\n'
};

struct ReportError {
  ReportErrorCode code;
  std::string detail;  // the event or key concerned; never the raw line (it may hold a peer-chosen string)
  std::string to_string() const;
};

// One line, without its '\n'.
Result<PluginEvent, ReportError> parse_report_line(std::string_view line);

// Splits the byte stream from the report descriptor into lines. A line longer than kMaxReportLine is
// discarded up to its '\n' and reported once as kLineTooLong.
class ReportLineSplitter {
 public:
  // Appends bytes; returns the complete lines (without '\n') and errors, in order.
  std::vector<Result<std::string, ReportError>> feed(std::string_view bytes);
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
  bool discarding_ = false;
};

// Percent-encoding as the plugin does it (for tests and for anything else that writes this protocol).
std::string report_escape(std::string_view raw);

}  // namespace l2tpvpn::ppp
