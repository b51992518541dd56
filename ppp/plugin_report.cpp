#include "ppp/plugin_report.hpp"

#include <charconv>
#include <map>

namespace l2tpvpn::ppp {
namespace {

Unexpected<ReportError> fail(ReportErrorCode code, std::string detail) {
  return unexpected(ReportError{code, std::move(detail)});
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;  // '%' needs two hex digits after it
    int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

using Fields = std::map<std::string, std::string, std::less<>>;

Result<std::string, ReportError> need(const Fields& f, const std::string& event, const char* key) {
  auto it = f.find(key);
  if (it == f.end()) return fail(ReportErrorCode::kMissingKey, event + "." + key);
  return it->second;
}

}  // namespace

std::string ReportError::to_string() const {
  const char* what = "";
  switch (code) {
    case ReportErrorCode::kEmpty: what = "empty report line"; break;
    case ReportErrorCode::kUnknownEvent: what = "unknown report event"; break;
    case ReportErrorCode::kMalformed: what = "malformed report line"; break;
    case ReportErrorCode::kMissingKey: what = "report line misses a key"; break;
    case ReportErrorCode::kBadValue: what = "bad value in report line"; break;
    case ReportErrorCode::kLineTooLong: what = "report line too long"; break;
  }
  return detail.empty() ? std::string(what) : std::string(what) + ": " + detail;
}

std::string report_escape(std::string_view raw) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    if (c > 0x20 && c < 0x7f && c != '%' && c != '=') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<PluginEvent, ReportError> parse_report_line(std::string_view line) {
  if (line.size() > kMaxReportLine) return fail(ReportErrorCode::kLineTooLong, {});
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  if (words.empty()) return fail(ReportErrorCode::kEmpty, {});
  std::string event(words[0]);
  Fields f;
  for (size_t w = 1; w < words.size(); ++w) {
    auto eq = words[w].find('=');
    if (eq == std::string_view::npos || eq == 0) return fail(ReportErrorCode::kMalformed, event);
    std::string key(words[w].substr(0, eq));
    auto value = unescape(words[w].substr(eq + 1));
    if (!value) return fail(ReportErrorCode::kMalformed, event + "." + key);
    if (!f.emplace(key, std::move(*value)).second) return fail(ReportErrorCode::kMalformed, event + "." + key);
  }
  PluginEvent ev;
  if (auto d = f.find("dropped"); d != f.end()) {
    auto n = parse_number<uint64_t>(d->second);
    if (!n) return fail(ReportErrorCode::kBadValue, event + ".dropped");
    ev.dropped_before = *n;
  }
  auto bad = [&](const char* key) { return fail(ReportErrorCode::kBadValue, event + "." + key); };

  if (event == "hello") {
    auto version = need(f, event, "version");
    if (!version) return unexpected(version.error());
    auto pppd = need(f, event, "pppd");
    if (!pppd) return unexpected(pppd.error());
    auto pid = need(f, event, "pid");
    if (!pid) return unexpected(pid.error());
    auto v = parse_number<int>(*version);
    if (!v || *v < 1) return bad("version");
    auto p = parse_number<int>(*pid);
    if (!p || *p <= 0) return bad("pid");
    ev.body = HelloEvent{*v, *pppd, *p};
  } else if (event == "phase") {
    auto value = need(f, event, "value");
    if (!value) return unexpected(value.error());
    auto n = parse_number<int>(*value);
    auto phase = n ? ppp_phase_from_int(*n) : std::nullopt;
    if (!phase) return bad("value");
    ev.body = PhaseEvent{*phase};
  } else if (event == "auth") {
    auto peer = need(f, event, "peer");
    if (!peer) return unexpected(peer.error());
    ev.body = AuthEvent{*peer};
  } else if (event == "auth-fail") {
    auto peer = need(f, event, "peer");
    if (!peer) return unexpected(peer.error());
    ev.body = AuthFailEvent{*peer};
  } else if (event == "ip-up") {
    auto ifn = need(f, event, "ifname");
    if (!ifn) return unexpected(ifn.error());
    auto local = need(f, event, "local");
    if (!local) return unexpected(local.error());
    auto remote = need(f, event, "remote");
    if (!remote) return unexpected(remote.error());
    auto l = parse_ipv4(*local);
    if (!l) return bad("local");
    auto r = parse_ipv4(*remote);
    if (!r) return bad("remote");
    ev.body = IpUpEvent{*ifn, *l, *r};
  } else if (event == "ip-down") {
    auto ifn = need(f, event, "ifname");
    if (!ifn) return unexpected(ifn.error());
    ev.body = IpDownEvent{*ifn};
  } else if (event == "stats") {
    StatsEvent s;
    const std::pair<const char*, uint64_t*> keys[] = {{"bytes_in", &s.bytes_in},
                                                      {"bytes_out", &s.bytes_out},
                                                      {"packets_in", &s.packets_in},
                                                      {"packets_out", &s.packets_out},
                                                      {"connect_time", &s.connect_time_s}};
    for (const auto& [key, out] : keys) {
      auto v = need(f, event, key);
      if (!v) return unexpected(v.error());
      auto n = parse_number<uint64_t>(*v);
      if (!n) return bad(key);
      *out = *n;
    }
    ev.body = s;
  } else if (event == "exit") {
    auto status = need(f, event, "status");
    if (!status) return unexpected(status.error());
    auto n = parse_number<int>(*status);
    if (!n) return bad("status");
    ev.body = ExitEvent{pppd_exit_from_code(*n), *n};
  } else {
    return fail(ReportErrorCode::kUnknownEvent, report_escape(event.substr(0, 32)));
  }
  return ev;
}

std::vector<Result<std::string, ReportError>> ReportLineSplitter::feed(std::string_view bytes) {
  std::vector<Result<std::string, ReportError>> out;
  for (char c : bytes) {
    if (c == '\n') {
      if (discarding_) {
        discarding_ = false;
      } else {
        out.emplace_back(std::move(buf_));
      }
      buf_.clear();
      continue;
    }
    if (discarding_) continue;
    buf_ += c;
    if (buf_.size() > kMaxReportLine) {
      buf_.clear();
      discarding_ = true;
      out.emplace_back(unexpected(ReportError{ReportErrorCode::kLineTooLong, {}}));
    }
  }
  return out;
}

}  // namespace l2tpvpn::ppp
