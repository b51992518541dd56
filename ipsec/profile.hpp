// The IKEv1 connection profile l2tpvpn loads into charon for the operating systems' built-in L2TP/IPsec clients,
// built as VICI load-conn / load-shared / load-key messages from a plain ProfileConfig. Pure.
//
// What every profile is (RFC 3193 §5: L2TP protected by transport-mode ESP):
//   IKEv1 main mode (aggressive = no), responder only (no start/close/dpd actions that would initiate),
//   PSK authentication (X.509 as an option), any peer address, unique = never (many clients may share an identity
//   and a NAT), NAT-T detected automatically (encap = no: "yes" would force UDP encapsulation), DPD,
//   one transport-mode CHILD_SA with local_ts = dynamic[udp/1701], remote_ts = dynamic[udp] (any source port:
//   macOS/iOS use an ephemeral one; "dynamic[udp/%any]" is rejected by charon), no rekeying started by the
//   server (IKE rekey_time = reauth_time = 0, CHILD rekey_time = 0 AND rand_time = 0: with only rekey_time = 0
//   charon rekeys every second), long lifetimes so that the client always rekeys first, and (mark_sas) a unique
//   mark per CHILD_SA so that clients behind one NAT are told apart.
//
// Proposal sets (docs/vici.md has the table of which client proposes what):
//   kDefault: AES-256/128-CBC with SHA-256/SHA-1 over MODP2048, and ECP384/ECP256 (Windows 10/11, macOS/iOS,
//             Android 12+); ESP AES-256/128-CBC with SHA-256/SHA-1/SHA-512/SHA-384.
//   kLegacy:  kDefault plus MODP1024 and 3DES (Android <= 11 proposes only MODP1024; old Windows/macOS 3DES).
//             MODP1024 is breakable by a state-level attacker (Logjam), hence opt-in.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ipsec/vici_message.hpp"

namespace l2tpvpn::ipsec {

enum class AuthMode : uint8_t { kPsk, kCertificate };
enum class CryptoSet : uint8_t { kDefault, kLegacy };
enum class KeyType : uint8_t { kRsa, kEcdsa };

struct ProfileConfig {
  std::string name = "l2tpvpn";           // load-conn name (also the prefix of the shared key's id)
  std::string child_name = "l2tp";        // CHILD_SA config name
  std::vector<std::string> local_addrs;   // empty: %any
  std::vector<std::string> remote_addrs;  // empty: %any
  std::string local_id;                   // empty: charon's default (our IP address), which is what clients expect

  AuthMode auth = AuthMode::kPsk;
  std::string psk;                      // kPsk: 8..255 bytes
  std::vector<std::string> psk_owners;  // identities the PSK is bound to; empty: any peer
  std::string server_cert_pem;          // kCertificate: our certificate,
  std::string server_key_pem;           //   its private key,
  KeyType server_key_type = KeyType::kRsa;
  std::string ca_cert_pem;  //   and the CA that signed the clients' certificates

  CryptoSet crypto = CryptoSet::kDefault;
  std::vector<std::string> ike_proposals;  // non-empty: used instead of the set (strongSwan proposal syntax)
  std::vector<std::string> esp_proposals;

  std::chrono::seconds dpd_delay{30};                           // 0 disables DPD
  std::chrono::seconds dpd_timeout{150};                        // IKEv1: peer declared dead after this much silence
  std::chrono::seconds child_lifetime{std::chrono::hours(24)};  // hard CHILD_SA lifetime; clients rekey sooner
  bool fragmentation = true;  // IKEv1 fragmentation (Windows sends large certificate payloads)
  // Every L2TP CHILD_SA gets a mark of its own (mark_in = mark_out = %unique, set_mark_in = %same). Clients behind
  // one NAT reach us from the same address and, Windows always, the same port 1701, through transport selectors
  // that are identical: only the mark the kernel sets on what each SA decrypts tells their datagrams apart, and
  // replies sent with that mark leave through that client's SA. Off when the kernel cannot hand the mark of a
  // received datagram to us (no SO_RCVMARK): a mark we cannot read would only make replies unroutable.
  bool mark_sas = true;
};

struct ProfileError {
  std::string field;    // the ProfileConfig member, e.g. "psk"
  std::string message;  // what is wrong, for the operator
};
std::string to_string(const ProfileError& e);

// Errors: the first problem found, naming the field.
Status<ProfileError> validate(const ProfileConfig& config);

std::vector<std::string> ike_proposals(CryptoSet set);
std::vector<std::string> esp_proposals(CryptoSet set);

// A VICI command and its arguments.
struct ViciRequest {
  std::string command;
  vici::Message message;
  bool operator==(const ViciRequest&) const = default;
};

// Everything to load for `config`, in order: credentials first (load-shared, or load-key), then load-conn.
// Errors: validate()'s.
Result<std::vector<ViciRequest>, ProfileError> build_load_requests(const ProfileConfig& config);
// The matching unload requests (unload-conn, unload-shared for PSK profiles).
std::vector<ViciRequest> build_unload_requests(const ProfileConfig& config);

// The pieces, for tests and tools; they assume a validated config.
vici::Message build_load_conn(const ProfileConfig& config);
vici::Message build_load_shared(const ProfileConfig& config);
vici::Message build_load_key(const ProfileConfig& config);
std::string shared_key_id(const ProfileConfig& config);  // "<name>-psk", the id unload-shared takes

}  // namespace l2tpvpn::ipsec
