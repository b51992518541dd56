#include "ipsec/profile.hpp"

#include <algorithm>

namespace l2tpvpn::ipsec {

namespace {

constexpr size_t kMaxPskLength = 255;  // what the Windows/macOS dialogs accept
constexpr size_t kMinPskLength = 8;
constexpr size_t kMaxNameLength = 64;

std::string secs(std::chrono::seconds s) {
  return std::to_string(s.count()) + "s";
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= kMaxNameLength && std::all_of(s.begin(), s.end(), is_name_char);
}

// Addresses as swanctl.conf takes them: IPs, CIDR subnets, ranges, DNS names, %any. Anything with spaces, commas
// or quotes is a configuration mistake (a list written as one string).
bool valid_address(const std::string& s) {
  return !s.empty() && s.size() <= 255 &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_name_char(c) || c == ':' || c == '/' || c == '%'; });
}

// strongSwan proposal syntax: lower-case algorithm tokens joined by '-' ("aes256-sha1-modp2048").
bool valid_proposal(const std::string& s) {
  if (s.empty() || s.size() > 200 || s.front() == '-' || s.back() == '-' || s.find("--") != std::string::npos)
    return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

bool looks_like_pem(const std::string& s) {
  return s.find("-----BEGIN ") != std::string::npos;
}

Status<ProfileError> error(std::string field, std::string message) {
  return unexpected(ProfileError{std::move(field), std::move(message)});
}

}  // namespace

std::string to_string(const ProfileError& e) {
  return e.field + ": " + e.message;
}

std::vector<std::string> ike_proposals(CryptoSet set) {
  // charon as responder picks the first of OUR proposals that the client offers (prefer_configured_proposals),
  // so the strongest come first.
  std::vector<std::string> p = {
      "aes256-sha256-modp2048",  // macOS/iOS first choice
      "aes256-sha1-modp2048",    // Windows 10/11, macOS/iOS
      "aes128-sha256-modp2048",
      "aes128-sha1-modp2048",  // Windows 10/11
      "aes256-sha384-ecp384",  // Windows 10/11 ECP
      "aes256-sha1-ecp384",     "aes128-sha256-ecp256", "aes128-sha1-ecp256",
  };
  if (set == CryptoSet::kLegacy) {
    for (const char* s : {
             "aes256-sha512-modp1024",  // Android <= 11 (racoon) with SHA-2
             "aes256-sha256-modp1024",
             "aes256-sha1-modp1024",  // Android <= 11
             "aes128-sha256-modp1024", "aes128-sha1-modp1024",
             "3des-sha1-modp2048",  // Windows' 3DES fallback
             "3des-sha1-modp1024",  // Android <= 11, old macOS/iOS, Windows 7
         })
      p.emplace_back(s);
  }
  return p;
}

std::vector<std::string> esp_proposals(CryptoSet set) {
  // No DH group: none of the built-in clients uses PFS for L2TP.
  std::vector<std::string> p = {
      "aes256-sha256", "aes256-sha1",   "aes128-sha256",
      "aes128-sha1",   "aes256-sha512", "aes128-sha512",  // Android proposes HMAC-SHA2-512
      "aes256-sha384",
  };
  if (set == CryptoSet::kLegacy) p.emplace_back("3des-sha1");
  return p;
}

Status<ProfileError> validate(const ProfileConfig& c) {
  if (!valid_name(c.name)) return error("name", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (!valid_name(c.child_name)) return error("child_name", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  for (const auto& a : c.local_addrs)
    if (!valid_address(a)) return error("local_addrs", "'" + a + "' is not an address, subnet, range or name");
  for (const auto& a : c.remote_addrs)
    if (!valid_address(a)) return error("remote_addrs", "'" + a + "' is not an address, subnet, range or name");
  if (c.local_id.size() > 255) return error("local_id", "longer than 255 bytes");

  switch (c.auth) {
    case AuthMode::kPsk:
      if (c.psk.size() < kMinPskLength) return error("psk", "shorter than 8 characters");
      if (c.psk.size() > kMaxPskLength) return error("psk", "longer than 255 characters");
      if (std::any_of(c.psk.begin(), c.psk.end(), [](char ch) { return ch == '\0'; }))
        return error("psk", "contains a NUL byte");
      for (const auto& o : c.psk_owners)
        if (o.empty() || o.size() > 255) return error("psk_owners", "identities must be 1-255 bytes");
      if (!c.server_cert_pem.empty() || !c.server_key_pem.empty())
        return error("auth", "certificate data given but auth is psk");
      break;
    case AuthMode::kCertificate:
      if (!looks_like_pem(c.server_cert_pem)) return error("server_cert_pem", "not a PEM certificate");
      if (!looks_like_pem(c.server_key_pem)) return error("server_key_pem", "not a PEM private key");
      if (!looks_like_pem(c.ca_cert_pem)) return error("ca_cert_pem", "not a PEM certificate");
      if (!c.psk.empty()) return error("psk", "a PSK is given but auth is certificate");
      // A VICI value holds at most 64 KiB.
      for (const auto* pem : {&c.server_cert_pem, &c.server_key_pem, &c.ca_cert_pem})
        if (pem->size() > vici::kMaxValueLength) return error("auth", "PEM data larger than 64 KiB");
      break;
  }

  for (const auto& p : c.ike_proposals)
    if (!valid_proposal(p)) return error("ike_proposals", "'" + p + "' is not a proposal like aes256-sha1-modp2048");
  for (const auto& p : c.esp_proposals)
    if (!valid_proposal(p)) return error("esp_proposals", "'" + p + "' is not a proposal like aes256-sha1");

  if (c.dpd_delay.count() < 0) return error("dpd_delay", "negative");
  if (c.dpd_delay.count() > 0 && c.dpd_timeout <= c.dpd_delay)
    return error("dpd_timeout", "must be longer than dpd_delay");
  if (c.child_lifetime < std::chrono::minutes(10))
    return error("child_lifetime", "shorter than 10 minutes: clients (rekeying hourly) would lose their SA");
  if (c.child_lifetime > std::chrono::hours(24 * 7)) return error("child_lifetime", "longer than 7 days");
  return {};
}

std::string shared_key_id(const ProfileConfig& c) {
  return c.name + "-psk";
}

vici::Message build_load_conn(const ProfileConfig& c) {
  vici::Message msg;
  vici::Section& conn = msg.add_section(c.name);
  conn.set("version", "1");
  conn.set("aggressive", "no");  // main mode: aggressive mode with PSK leaks a crackable hash
  conn.set_list("local_addrs", c.local_addrs.empty() ? vici::List{"%any"} : c.local_addrs);
  conn.set_list("remote_addrs", c.remote_addrs.empty() ? vici::List{"%any"} : c.remote_addrs);
  conn.set_list("proposals", c.ike_proposals.empty() ? ike_proposals(c.crypto) : c.ike_proposals);
  conn.set("encap", "no");   // NAT-T when NAT is detected; "yes" would force UDP encapsulation
  conn.set("mobike", "no");  // IKEv2 only
  conn.set("fragmentation", c.fragmentation ? "yes" : "no");
  conn.set("unique", "never");  // clients may share identities (PSK) and NATs
  conn.set("dpd_delay", secs(c.dpd_delay));
  conn.set("dpd_timeout", secs(c.dpd_timeout));
  conn.set("rekey_time", "0s");  // the server never rekeys or reauthenticates; clients do
  conn.set("reauth_time", "0s");

  vici::Section& local = conn.add_section("local");
  vici::Section& remote = conn.add_section("remote");
  if (c.auth == AuthMode::kPsk) {
    local.set("auth", "psk");
    remote.set("auth", "psk");
    conn.set("send_certreq", "no");
  } else {
    local.set("auth", "pubkey");
    local.set_list("certs", {c.server_cert_pem});
    remote.set("auth", "pubkey");
    remote.set_list("cacerts", {c.ca_cert_pem});
    conn.set("send_cert", "always");  // Windows does not ask for it
  }
  if (!c.local_id.empty()) local.set("id", c.local_id);
  remote.set("id", "%any");

  vici::Section& child = conn.add_section("children").add_section(c.child_name);
  child.set("mode", "transport");
  // UDP as its protocol number: charon resolves a name through /etc/protocols, which a minimal root (no netbase)
  // lacks; it then refuses the whole connection ("invalid value for: local_ts").
  child.set_list("local_ts", {"dynamic[17/1701]"});
  child.set_list("remote_ts", {"dynamic[17]"});
  child.set_list("esp_proposals", c.esp_proposals.empty() ? esp_proposals(c.crypto) : c.esp_proposals);
  child.set("rekey_time", "0s");  // both 0, or charon rekeys the responder's CHILD_SA every second
  child.set("rand_time", "0s");
  child.set("life_time", secs(c.child_lifetime));
  child.set("dpd_action", "clear");  // responder: never restart, just clean up
  child.set("start_action", "none");
  child.set("close_action", "none");
  if (c.mark_sas) {
    // A mark of its own for each CHILD_SA, the same in and out (a client's rekeyed CHILD_SA keeps it), and set
    // on every packet the SA decrypts: it tells apart clients behind one NAT, whose L2TP comes from one address
    // and port through identical selectors (ProfileConfig::mark_sas).
    child.set("mark_in", "%unique");
    child.set("mark_out", "%unique");
    child.set("set_mark_in", "%same");
  }
  return msg;
}

vici::Message build_load_shared(const ProfileConfig& c) {
  vici::Message msg;
  msg.set("id", shared_key_id(c));
  msg.set("type", "IKE");
  msg.set("data", c.psk);
  msg.set_list("owners", c.psk_owners);  // empty: the key matches any peer identity
  return msg;
}

vici::Message build_load_key(const ProfileConfig& c) {
  vici::Message msg;
  msg.set("type", c.server_key_type == KeyType::kRsa ? "rsa" : "ecdsa");
  msg.set("data", c.server_key_pem);
  return msg;
}

Result<std::vector<ViciRequest>, ProfileError> build_load_requests(const ProfileConfig& c) {
  auto st = validate(c);
  if (!st) return unexpected(st.error());
  std::vector<ViciRequest> out;
  if (c.auth == AuthMode::kPsk) {
    out.push_back({"load-shared", build_load_shared(c)});
  } else {
    out.push_back({"load-key", build_load_key(c)});
  }
  out.push_back({"load-conn", build_load_conn(c)});
  return out;
}

std::vector<ViciRequest> build_unload_requests(const ProfileConfig& c) {
  std::vector<ViciRequest> out;
  vici::Message conn;
  conn.set("name", c.name);
  out.push_back({"unload-conn", conn});
  if (c.auth == AuthMode::kPsk) {
    vici::Message key;
    key.set("id", shared_key_id(c));
    out.push_back({"unload-shared", key});
  }
  return out;
}

}  // namespace l2tpvpn::ipsec
