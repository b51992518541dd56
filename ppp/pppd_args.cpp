#include "ppp/pppd_args.hpp"

#include <algorithm>

#include "ppp/ipv4.hpp"

namespace l2tpvpn::ppp {
namespace {

using Unexp = Unexpected<PppdArgsError>;

Unexp fail(PppdArgsErrorCode code, std::string field, std::string message) {
  return unexpected(PppdArgsError{code, std::move(field), std::move(message)});
}

// Names that go into argv as single words and into pppd's environment for scripts: a conservative set, so no
// option parser (pppd's own quoting, shell scripts reading $IPPARAM) can be confused.
bool is_safe_word(const std::string& s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool is_safe_path(const std::string& s) {
  if (s.empty() || s.size() > 1024) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '\\';
  });
}

}  // namespace

std::string PppdArgsError::to_string() const { return field + ": " + message; }

std::string interface_name_for_unit(uint32_t unit) { return "ppp-l2tp" + std::to_string(unit); }

Result<std::vector<std::string>, PppdArgsError> build_pppd_args(const PppdOptions& o) {
  // ---- validation: every field, before anything is built ----
  if (o.pppd_path.empty() || o.pppd_path[0] != '/' || !is_safe_path(o.pppd_path)) {
    return fail(PppdArgsErrorCode::kBadPath, "pppd_path", "must be an absolute path");
  }
  if (o.unit > kMaxUnit) {
    return fail(PppdArgsErrorCode::kBadUnit, "unit", "ifname ppp-l2tp<unit> must fit IFNAMSIZ (unit <= 9999999)");
  }
  if (!is_safe_word(o.server_name, 64)) {
    return fail(PppdArgsErrorCode::kBadName, "server_name", "1..64 characters of [A-Za-z0-9._-]");
  }
  std::string ipparam = o.ipparam.value_or("l2tpvpn-" + std::to_string(o.unit));
  if (!is_safe_word(ipparam, 128)) {
    return fail(PppdArgsErrorCode::kBadName, "ipparam", "1..128 characters of [A-Za-z0-9._-]");
  }
  auto local = parse_ipv4(o.local_address);
  if (!local || local->value == 0) {
    return fail(PppdArgsErrorCode::kBadAddress, "local_address", "not a dotted-quad IPv4 address");
  }
  auto remote = parse_ipv4(o.remote_address);
  if (!remote || remote->value == 0) {
    return fail(PppdArgsErrorCode::kBadAddress, "remote_address", "not a dotted-quad IPv4 address");
  }
  if (*local == *remote) {
    return fail(PppdArgsErrorCode::kBadAddress, "remote_address", "equals local_address");
  }
  if (o.dns.size() > 2) {
    // RFC 1877 has a primary and a secondary DNS option; pppd keeps two.
    return fail(PppdArgsErrorCode::kBadDns, "dns", "at most 2 servers (RFC 1877 primary/secondary)");
  }
  for (size_t i = 0; i < o.dns.size(); ++i) {
    auto field = "dns[" + std::to_string(i) + "]";
    if (o.dns[i].empty()) return fail(PppdArgsErrorCode::kBadDns, field, "empty");
    auto a = parse_ipv4(o.dns[i]);
    if (!a || a->value == 0) return fail(PppdArgsErrorCode::kBadDns, field, "not a dotted-quad IPv4 address");
  }
  const AuthPolicy& auth = o.auth;
  if (!auth.mschap_v2 && !auth.mschap && !auth.chap_md5 && !auth.pap) {
    return fail(PppdArgsErrorCode::kNoAuthMethod, "auth", "at least one authentication method is required");
  }
  if (o.mtu < kMinMtu || o.mtu > kMaxMtu) {
    return fail(PppdArgsErrorCode::kBadMtu, "mtu", "must be in [128, 1500]");
  }
  if (o.mru < kMinMtu || o.mru > kMaxMtu) {
    return fail(PppdArgsErrorCode::kBadMtu, "mru", "must be in [128, 1500]");
  }
  if (o.lcp_echo_interval < 0 || o.lcp_echo_interval > 3600) {
    return fail(PppdArgsErrorCode::kBadLcpEcho, "lcp_echo_interval", "must be in [0, 3600] seconds");
  }
  if (o.lcp_echo_failure < 0 || o.lcp_echo_failure > 100 || (o.lcp_echo_interval > 0 && o.lcp_echo_failure == 0)) {
    return fail(PppdArgsErrorCode::kBadLcpEcho, "lcp_echo_failure", "must be in [1, 100] when echo is on");
  }
  if (const auto* k = std::get_if<KernelDataPath>(&o.data_path)) {
    if (k->fd < 3) return fail(PppdArgsErrorCode::kBadFd, "data_path.fd", "must be >= 3 (0-2 are stdio)");
    if (k->reorder_timeout_ms < 0) {
      return fail(PppdArgsErrorCode::kBadFd, "data_path.reorder_timeout_ms", "must not be negative");
    }
  } else {
    const auto& p = std::get<PtyDataPath>(o.data_path);
    if (p.tty_path.rfind("/dev/", 0) != 0 || !is_safe_path(p.tty_path) ||
        p.tty_path.find("..") != std::string::npos) {
      return fail(PppdArgsErrorCode::kBadPath, "data_path.tty_path", "must be a device path under /dev/");
    }
  }
  if (o.plugin) {
    if (!is_safe_path(o.plugin->path)) return fail(PppdArgsErrorCode::kBadPath, "plugin.path", "empty or unsafe");
    if (o.plugin->report_fd != -1 && o.plugin->report_fd < 3) {
      return fail(PppdArgsErrorCode::kBadFd, "plugin.report_fd", "must be >= 3 (0-2 are stdio), or -1");
    }
    if (const auto* k = std::get_if<KernelDataPath>(&o.data_path); k && k->fd == o.plugin->report_fd) {
      return fail(PppdArgsErrorCode::kBadFd, "plugin.report_fd", "same descriptor as the data path");
    }
    if (o.plugin->secrets_path &&
        (o.plugin->secrets_path->empty() || (*o.plugin->secrets_path)[0] != '/' ||
         !is_safe_path(*o.plugin->secrets_path))) {
      return fail(PppdArgsErrorCode::kBadPath, "plugin.secrets_path", "must be an absolute path");
    }
  }

  // ---- argv ----
  std::vector<std::string> a;
  auto add = [&a](std::initializer_list<std::string> words) { a.insert(a.end(), words); };
  a.push_back(o.pppd_path);

  if (const auto* k = std::get_if<KernelDataPath>(&o.data_path)) {
    // The plugin's options exist only after `plugin` loaded it, so it comes first.
    add({"plugin", "pppol2tp.so", "pppol2tp", std::to_string(k->fd), "pppol2tp_lns_mode", "pppol2tp_tunnel_id",
         std::to_string(k->tunnel_id), "pppol2tp_session_id", std::to_string(k->session_id)});
    if (k->recv_seq) a.push_back("pppol2tp_recv_seq");
    if (k->send_seq) a.push_back("pppol2tp_send_seq");
    if (k->reorder_timeout_ms > 0) add({"pppol2tp_reorderto", std::to_string(k->reorder_timeout_ms)});
  } else {
    const auto& p = std::get<PtyDataPath>(o.data_path);
    // The pty slave as pppd's serial device. `local`: no modem control lines (a pty has none; Debian's
    // /etc/ppp/options says `modem`). `nocrtscts`: likewise overrides the distribution's `crtscts`.
    add({p.tty_path, "local", "nocrtscts"});
  }
  if (o.plugin) {
    // l2tpvpnd sends SIGHUP only after the L2TP session has closed: the plugin makes pppd treat it as the
    // hang-up it is (ppp/plugin/l2tpvpn_plugin.c) instead of waiting for an LCP Terminate-Ack.
    add({"plugin", o.plugin->path, "l2tpvpn_sighup_is_hangup"});
    if (o.plugin->report_fd >= 0) add({"l2tpvpn_report_fd", std::to_string(o.plugin->report_fd)});
    if (o.plugin->secrets_path) add({"l2tpvpn_secrets", *o.plugin->secrets_path});
  }

  // Process: stay our child (exit status), one interface name and script tag per session.
  add({"nodetach", "name", o.server_name, "ifname", interface_name_for_unit(o.unit), "ipparam", ipparam});

  // Authentication (RFC 1994 CHAP, RFC 2759 MS-CHAPv2, RFC 1334 PAP): require what the policy allows of the
  // peer; pppd then offers nothing else. We never authenticate ourselves to the peer: refuse every method.
  a.push_back("auth");
  if (auth.mschap_v2) a.push_back("require-mschap-v2");
  if (auth.mschap) a.push_back("require-mschap");
  if (auth.chap_md5) a.push_back("require-chap");
  if (auth.pap) a.push_back("require-pap");
  add({"refuse-pap", "refuse-chap", "refuse-mschap", "refuse-mschap-v2", "refuse-eap"});

  // Link: no compression negotiation (CCP): ESP already encrypts, and MPPE/deflate only cost CPU and bugs.
  add({"noccp", "mtu", std::to_string(o.mtu), "mru", std::to_string(o.mru)});
  add({"lcp-echo-interval", std::to_string(o.lcp_echo_interval), "lcp-echo-failure",
       std::to_string(o.lcp_echo_failure)});

  // IPCP (RFC 1332): both addresses fixed by us; the peer cannot pick its own.
  add({to_string(*local) + ":" + to_string(*remote), "noipdefault", "nodefaultroute"});
  a.push_back(o.proxyarp ? "proxyarp" : "noproxyarp");
  for (const auto& d : o.dns) add({"ms-dns", to_string(*parse_ipv4(d))});
  if (o.debug) a.push_back("debug");
  return a;
}

}  // namespace l2tpvpn::ppp
