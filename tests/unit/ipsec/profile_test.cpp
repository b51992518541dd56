#include "ipsec/profile.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace l2tpvpn::ipsec {
namespace {

ProfileConfig psk_config() {
  ProfileConfig c;
  c.psk = "test-psk-123";
  return c;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Profile, DefaultPskProfileMatchesTheDesign) {
  auto c = psk_config();
  auto msg = build_load_conn(c);
  const vici::Section* conn = msg.section("l2tpvpn");
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(*conn->value("version"), "1");
  EXPECT_EQ(*conn->value("aggressive"), "no");
  EXPECT_EQ(*conn->list("local_addrs"), vici::List{"%any"});
  EXPECT_EQ(*conn->list("remote_addrs"), vici::List{"%any"});
  EXPECT_EQ(*conn->value("encap"), "no");
  EXPECT_EQ(*conn->value("unique"), "never");
  EXPECT_EQ(*conn->value("dpd_delay"), "30s");
  EXPECT_EQ(*conn->value("dpd_timeout"), "150s");
  EXPECT_EQ(*conn->value("rekey_time"), "0s");
  EXPECT_EQ(*conn->value("reauth_time"), "0s");
  EXPECT_EQ(*conn->section("local")->value("auth"), "psk");
  EXPECT_EQ(*conn->section("remote")->value("auth"), "psk");
  EXPECT_EQ(*conn->section("remote")->value("id"), "%any");
  EXPECT_EQ(conn->section("local")->value("id"), nullptr);

  const vici::Section* child = conn->section("children")->section("l2tp");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(*child->value("mode"), "transport");
  EXPECT_EQ(*child->list("local_ts"), vici::List{"dynamic[17/1701]"});
  EXPECT_EQ(*child->list("remote_ts"), vici::List{"dynamic[17]"});
  EXPECT_EQ(*child->value("rekey_time"), "0s");
  EXPECT_EQ(*child->value("rand_time"), "0s");  // pitfall: rekey_time=0 alone rekeys every second
  EXPECT_EQ(*child->value("life_time"), "86400s");
  EXPECT_EQ(*child->value("start_action"), "none");
  EXPECT_EQ(*child->value("dpd_action"), "clear");

  // The whole message encodes (sizes within VICI limits).
  EXPECT_TRUE(vici::encode_message(msg));
}

TEST(Profile, DefaultProposalsCoverModernClientsWithoutModp1024Or3des) {
  auto ike = ike_proposals(CryptoSet::kDefault);
  auto esp = esp_proposals(CryptoSet::kDefault);
  for (const char* p : {"aes256-sha1-modp2048", "aes128-sha1-modp2048", "aes256-sha256-modp2048",
                        "aes256-sha384-ecp384", "aes128-sha256-ecp256"})
    EXPECT_TRUE(has(ike, p)) << p;
  for (const char* p : {"aes256-sha1", "aes128-sha1", "aes256-sha512", "aes256-sha256"}) EXPECT_TRUE(has(esp, p)) << p;
  for (const auto& p : ike) {
    EXPECT_EQ(p.find("modp1024"), std::string::npos) << p;
    EXPECT_EQ(p.find("3des"), std::string::npos) << p;
  }
  for (const auto& p : esp) EXPECT_EQ(p.find("3des"), std::string::npos) << p;
  EXPECT_EQ(ike.front(), "aes256-sha256-modp2048");  // strongest first: charon prefers our order
}

TEST(Profile, LegacySwitchAddsModp1024And3desAfterTheDefaults) {
  auto ike = ike_proposals(CryptoSet::kLegacy);
  auto def = ike_proposals(CryptoSet::kDefault);
  ASSERT_GT(ike.size(), def.size());
  EXPECT_TRUE(std::equal(def.begin(), def.end(), ike.begin()));
  for (const char* p : {"aes256-sha1-modp1024", "aes128-sha1-modp1024", "3des-sha1-modp1024", "aes256-sha256-modp1024"})
    EXPECT_TRUE(has(ike, p)) << p;
  EXPECT_TRUE(has(esp_proposals(CryptoSet::kLegacy), "3des-sha1"));

  auto c = psk_config();
  c.crypto = CryptoSet::kLegacy;
  auto msg = build_load_conn(c);
  EXPECT_EQ(*msg.section("l2tpvpn")->list("proposals"), ike);
}

TEST(Profile, ExplicitProposalsAndAddressesOverride) {
  auto c = psk_config();
  c.ike_proposals = {"aes256-sha1-modp2048"};
  c.esp_proposals = {"aes256-sha1"};
  c.local_addrs = {"192.0.2.1"};
  c.remote_addrs = {"198.51.100.0/24"};
  c.local_id = "vpn.example.org";
  c.dpd_delay = std::chrono::seconds(0);
  auto msg = build_load_conn(c);
  const vici::Section* conn = msg.section("l2tpvpn");
  EXPECT_EQ(*conn->list("proposals"), vici::List{"aes256-sha1-modp2048"});
  EXPECT_EQ(*conn->section("children")->section("l2tp")->list("esp_proposals"), vici::List{"aes256-sha1"});
  EXPECT_EQ(*conn->list("local_addrs"), vici::List{"192.0.2.1"});
  EXPECT_EQ(*conn->list("remote_addrs"), vici::List{"198.51.100.0/24"});
  EXPECT_EQ(*conn->section("local")->value("id"), "vpn.example.org");
  EXPECT_EQ(*conn->value("dpd_delay"), "0s");
  EXPECT_TRUE(validate(c));
}

TEST(Profile, LoadAndUnloadRequestsForPsk) {
  auto c = psk_config();
  c.psk_owners = {"%any"};
  auto reqs = build_load_requests(c);
  ASSERT_TRUE(reqs);
  ASSERT_EQ(reqs->size(), 2u);
  EXPECT_EQ((*reqs)[0].command, "load-shared");  // credentials before the connection that needs them
  EXPECT_EQ(*(*reqs)[0].message.value("id"), "l2tpvpn-psk");
  EXPECT_EQ(*(*reqs)[0].message.value("type"), "IKE");
  EXPECT_EQ(*(*reqs)[0].message.value("data"), "test-psk-123");
  EXPECT_EQ(*(*reqs)[0].message.list("owners"), vici::List{"%any"});
  EXPECT_EQ((*reqs)[1].command, "load-conn");

  auto unload = build_unload_requests(c);
  ASSERT_EQ(unload.size(), 2u);
  EXPECT_EQ(unload[0].command, "unload-conn");
  EXPECT_EQ(*unload[0].message.value("name"), "l2tpvpn");
  EXPECT_EQ(unload[1].command, "unload-shared");
  EXPECT_EQ(*unload[1].message.value("id"), "l2tpvpn-psk");
}

// Clients behind one NAT share address, port and selectors; a unique mark per CHILD_SA, set on what it decrypts,
// is what tells their L2TP apart. Off, none of the three keys is sent (charon's default: no mark).
TEST(Profile, EveryL2tpChildSaGetsAUniqueMarkUnlessTurnedOff) {
  auto c = psk_config();
  auto load_conn = [](const ProfileConfig& config) {
    auto reqs = build_load_requests(config);
    EXPECT_TRUE(reqs);
    EXPECT_EQ(reqs->back().command, "load-conn");
    return reqs->back().message;
  };
  const char* const keys[] = {"mark_in", "mark_out", "set_mark_in"};

  ASSERT_TRUE(c.mark_sas);  // on by default
  auto on = load_conn(c);
  const vici::Section* conn = on.section("l2tpvpn");
  const vici::Section* child = conn->section("children")->section("l2tp");
  ASSERT_NE(child->value("mark_in"), nullptr);
  ASSERT_NE(child->value("mark_out"), nullptr);
  ASSERT_NE(child->value("set_mark_in"), nullptr);
  EXPECT_EQ(*child->value("mark_in"), "%unique");
  EXPECT_EQ(*child->value("mark_out"), "%unique");
  EXPECT_EQ(*child->value("set_mark_in"), "%same");
  for (const char* k : keys) EXPECT_EQ(conn->value(k), nullptr) << k << " belongs to the CHILD config";

  c.mark_sas = false;
  auto off = load_conn(c);
  const vici::Section* plain = off.section("l2tpvpn")->section("children")->section("l2tp");
  for (const char* k : keys) EXPECT_EQ(plain->value(k), nullptr) << k;
  EXPECT_EQ(*plain->value("mode"), "transport");  // the rest of the CHILD config is unchanged
}

TEST(Profile, CertificateOption) {
  ProfileConfig c;
  c.auth = AuthMode::kCertificate;
  c.server_cert_pem = "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n";
  c.server_key_pem = "-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n";
  c.ca_cert_pem = "-----BEGIN CERTIFICATE-----\nMIICA...\n-----END CERTIFICATE-----\n";
  c.server_key_type = KeyType::kEcdsa;
  auto reqs = build_load_requests(c);
  ASSERT_TRUE(reqs) << to_string(reqs.error());
  ASSERT_EQ(reqs->size(), 2u);
  EXPECT_EQ((*reqs)[0].command, "load-key");
  EXPECT_EQ(*(*reqs)[0].message.value("type"), "ecdsa");
  const vici::Section* conn = (*reqs)[1].message.section("l2tpvpn");
  EXPECT_EQ(*conn->section("local")->value("auth"), "pubkey");
  EXPECT_EQ(*conn->section("local")->list("certs"), vici::List{c.server_cert_pem});
  EXPECT_EQ(*conn->section("remote")->value("auth"), "pubkey");
  EXPECT_EQ(*conn->section("remote")->list("cacerts"), vici::List{c.ca_cert_pem});
  EXPECT_EQ(build_unload_requests(c).size(), 1u);  // no shared key to unload
}

struct BadCase {
  const char* what;
  void (*mutate)(ProfileConfig&);
  const char* field;
};

TEST(Profile, ValidationRejectsNonsenseNamingTheField) {
  const BadCase cases[] = {
      {"empty name", [](ProfileConfig& c) { c.name.clear(); }, "name"},
      {"name with space", [](ProfileConfig& c) { c.name = "my conn"; }, "name"},
      {"name too long", [](ProfileConfig& c) { c.name = std::string(65, 'a'); }, "name"},
      {"child name with brace", [](ProfileConfig& c) { c.child_name = "l2tp{"; }, "child_name"},
      {"empty psk", [](ProfileConfig& c) { c.psk.clear(); }, "psk"},
      {"short psk", [](ProfileConfig& c) { c.psk = "1234567"; }, "psk"},
      {"long psk", [](ProfileConfig& c) { c.psk = std::string(256, 'k'); }, "psk"},
      {"psk with NUL", [](ProfileConfig& c) { c.psk = std::string("abcd\0efgh", 9); }, "psk"},
      {"empty owner", [](ProfileConfig& c) { c.psk_owners = {""}; }, "psk_owners"},
      {"cert data with psk auth", [](ProfileConfig& c) { c.server_cert_pem = "x"; }, "auth"},
      {"address list in one string", [](ProfileConfig& c) { c.local_addrs = {"1.2.3.4, 5.6.7.8"}; }, "local_addrs"},
      {"empty remote address", [](ProfileConfig& c) { c.remote_addrs = {""}; }, "remote_addrs"},
      {"upper-case proposal", [](ProfileConfig& c) { c.ike_proposals = {"AES256-SHA1-MODP2048"}; }, "ike_proposals"},
      {"proposal with comma", [](ProfileConfig& c) { c.esp_proposals = {"aes256-sha1,3des-sha1"}; }, "esp_proposals"},
      {"dangling dash", [](ProfileConfig& c) { c.esp_proposals = {"aes256-"}; }, "esp_proposals"},
      {"negative dpd", [](ProfileConfig& c) { c.dpd_delay = std::chrono::seconds(-1); }, "dpd_delay"},
      {"dpd timeout below delay", [](ProfileConfig& c) { c.dpd_timeout = std::chrono::seconds(10); }, "dpd_timeout"},
      {"tiny child lifetime", [](ProfileConfig& c) { c.child_lifetime = std::chrono::seconds(60); }, "child_lifetime"},
      {"huge child lifetime", [](ProfileConfig& c) { c.child_lifetime = std::chrono::hours(24 * 8); },
       "child_lifetime"},
      {"cert mode without pem",
       [](ProfileConfig& c) {
         c.auth = AuthMode::kCertificate;
         c.psk.clear();
       },
       "server_cert_pem"},
      {"cert mode with psk",
       [](ProfileConfig& c) {
         c.auth = AuthMode::kCertificate;
         c.server_cert_pem = c.server_key_pem = c.ca_cert_pem = "-----BEGIN X-----";
       },
       "psk"},
  };
  for (const auto& bc : cases) {
    auto c = psk_config();
    bc.mutate(c);
    auto st = validate(c);
    ASSERT_FALSE(st) << bc.what;
    EXPECT_EQ(st.error().field, bc.field) << bc.what << ": " << to_string(st.error());
    EXPECT_FALSE(st.error().message.empty());
    EXPECT_FALSE(build_load_requests(c)) << bc.what;
  }
  EXPECT_TRUE(validate(psk_config()));
}

}  // namespace
}  // namespace l2tpvpn::ipsec
