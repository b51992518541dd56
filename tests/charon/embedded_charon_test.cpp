// ipsec::EmbeddedCharon with the real /usr/lib/ipsec/charon: started exactly as l2tpvpnd will start it (our
// rendered strongswan.conf, our plugin list, posix_spawn), then driven through vici::Client + CharonLink.
//
// charon's pid file is /var/run/charon.pid whatever the configuration says, so the test process first moves
// itself into a private mount namespace with a tmpfs on /run (before any thread or child exists); every charon
// it starts inherits that namespace, and a charon on the host is neither seen nor disturbed. The vici socket
// and the configuration live in a temporary directory, the IKE ports are chosen by the kernel (port = 0).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/os/spawn.hpp"
#include "ipsec/charon_link.hpp"
#include "ipsec/charon_process.hpp"
#include "ipsec/vici_client.hpp"
#include "require.hpp"

namespace l2tpvpn::ipsec {
namespace {

using namespace std::chrono_literals;
using vici::Clock;
namespace fs = std::filesystem;

constexpr const char* kCharon = "/usr/lib/ipsec/charon";
constexpr const char* kOpenssl = "/usr/bin/openssl";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Our live children whose comm is "charon" (zombies excluded; charons of other tests on this host are not ours).
std::vector<pid_t> charon_processes() {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string comm = read_file(e.path().string() + "/comm");
    const std::string stat = read_file(e.path().string() + "/stat");
    const auto paren = stat.rfind(") ");
    if (comm != "charon\n" || paren == std::string::npos || stat[paren + 2] == 'Z') continue;
    // stat: "pid (comm) state ppid ..."
    if (std::atoi(stat.c_str() + paren + 4) == ::getpid()) out.push_back(std::stoi(name));
  }
  return out;
}

class EmbeddedCharonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !fs::exists(kCharon)) return;
    // A private /run for charon.pid (see the file comment). Single-threaded here, as unshare(CLONE_NEWNS) needs.
    private_run_ = ::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                   ::mount("tmpfs", "/run", "tmpfs", 0, "mode=755") == 0;
  }

  void SetUp() override {
    L2TPVPN_REQUIRE(::geteuid() == 0, "root (charon, private mount namespace)");
    L2TPVPN_REQUIRE(fs::exists(kCharon), kCharon << " (package strongswan-charon)");
    ASSERT_TRUE(private_run_) << "could not make a private /run: " << std::strerror(errno);
    char tmpl[] = "/tmp/l2tpvpn-embedded-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    log_fd_ = ::open((dir_ + "/charon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(log_fd_, 0);

    opts_.runtime_dir = dir_ + "/run";
    opts_.vici_socket = dir_ + "/run/charon.vici";
    opts_.port = 0;
    opts_.port_nat_t = 0;
    opts_.log_level = 1;
    opts_.log_subsystems = {{"cfg", 2}};  // load-key/load-conn parsing problems
    opts_.stderr_fd = log_fd_;

    vici::ClientOptions o;
    o.socket_path = opts_.vici_socket;
    o.initial_backoff = 50ms;
    o.max_backoff = 500ms;
    o.request_timeout = 10s;
    client_ = std::make_unique<vici::Client>(o);
    link_ = std::make_unique<CharonLink>(client_->session(), registry_);
    client_->set_on_connected([this] { link_->on_connected(); });
    client_->set_on_disconnected([this](const std::string&) { link_->on_disconnected(); });
  }

  void TearDown() override {
    link_.reset();
    client_.reset();
    if ((HasFailure() || std::getenv("L2TPVPN_SHOW_LOG")) && !dir_.empty())
      std::cerr << "---- charon log ----\n" << read_file(dir_ + "/charon.log");
    if (log_fd_ >= 0) ::close(log_fd_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (done()) return true;
      client_->poll_once(20ms);
    }
    return done();
  }

  Result<vici::CommandReply, vici::CommandError> call(vici::Command c, vici::Message args = {}) {
    std::optional<Result<vici::CommandReply, vici::CommandError>> out;
    auto st = client_->session().submit(c, std::move(args), [&](auto r) { out.emplace(std::move(r)); });
    if (!st) return unexpected(st.error());
    if (!run_until([&] { return out.has_value(); }))
      return unexpected(vici::CommandError{vici::CommandError::Kind::kDisconnected, "test timeout"});
    return std::move(*out);
  }

  std::vector<std::string> listed_conns() {
    auto r = call(vici::Command::kListConns);
    std::vector<std::string> names;
    if (r)
      for (const auto& m : r->stream)
        for (const auto& e : m.entries()) names.push_back(e.name);
    return names;
  }

  // openssl ARGS... in dir_, output to the log.
  bool openssl(std::vector<std::string> args) {
    args.insert(args.begin(), kOpenssl);
    os::LaunchSpec spec;
    spec.argv = args;
    spec.stdout_fd = log_fd_;
    spec.stderr_fd = log_fd_;
    auto pid = os::spawn_process(spec);
    if (!pid) return false;
    const auto r = os::wait_for(*pid);
    return r.status.exited && r.status.code == 0;
  }

  static inline bool private_run_ = false;
  std::string dir_;
  int log_fd_ = -1;
  EmbeddedCharonOptions opts_;
  SaRegistry registry_;
  std::unique_ptr<vici::Client> client_;
  std::unique_ptr<CharonLink> link_;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(EmbeddedCharonTest, StartsLoadsPskAndCertificateProfilesAndStopsCleanly) {
  L2TPVPN_REQUIRE(fs::exists(kOpenssl), "openssl(1) (package openssl)");
  // Certificates and keys in every form an operator may have: RSA as PKCS#1 and PKCS#8, ECDSA as SEC1 and
  // PKCS#8. They prove the plugin list parses what certificate profiles send (PEM certs in load-conn, PEM keys
  // in load-key).
  const std::string d = dir_ + "/";
  ASSERT_TRUE(openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "ca.key", "-out", d + "ca.pem",
                       "-days", "2", "-subj", "/CN=l2tpvpn test CA", "-addext", "basicConstraints=critical,CA:TRUE"}));
  struct KeyCase {
    std::string name;
    std::vector<std::string> genkey;
    KeyType type;
  };
  const std::vector<KeyCase> keys = {
      {"rsa1", {"genrsa", "-traditional", "-out", d + "rsa1.key", "2048"}, KeyType::kRsa},
      {"rsa8",
       {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", d + "rsa8.key"},
       KeyType::kRsa},
      {"ec1", {"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d + "ec1.key"}, KeyType::kEcdsa},
      {"ec8",
       {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", d + "ec8.key"},
       KeyType::kEcdsa},
  };
  for (const auto& k : keys) {
    ASSERT_TRUE(openssl(k.genkey)) << k.name;
    ASSERT_TRUE(openssl({"req", "-new", "-key", d + k.name + ".key", "-out", d + k.name + ".csr", "-subj",
                         "/CN=vpn-" + k.name + ".example"}))
        << k.name;
    ASSERT_TRUE(openssl({"x509", "-req", "-in", d + k.name + ".csr", "-CA", d + "ca.pem", "-CAkey", d + "ca.key",
                         "-CAcreateserial", "-days", "2", "-out", d + k.name + ".pem"}))
        << k.name;
  }
  EXPECT_NE(read_file(d + "rsa1.key").find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  EXPECT_NE(read_file(d + "rsa8.key").find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_NE(read_file(d + "ec1.key").find("BEGIN EC PRIVATE KEY"), std::string::npos);
  EXPECT_NE(read_file(d + "ec8.key").find("BEGIN PRIVATE KEY"), std::string::npos);

  ProfileConfig psk;
  psk.name = "l2tpvpn";
  psk.psk = "test-psk-123";
  psk.crypto = CryptoSet::kLegacy;  // every proposal must be known to the loaded plugins
  ASSERT_TRUE(link_->add_profile(psk));
  for (const auto& k : keys) {
    ProfileConfig c;
    c.name = "cert-" + k.name;
    c.auth = AuthMode::kCertificate;
    c.server_cert_pem = read_file(d + k.name + ".pem");
    c.server_key_pem = read_file(d + k.name + ".key");
    c.server_key_type = k.type;
    c.ca_cert_pem = read_file(d + "ca.pem");
    ASSERT_TRUE(link_->add_profile(c)) << k.name;
  }

  EmbeddedCharon charon(opts_);
  ASSERT_TRUE(charon.start());
  const pid_t pid = charon.pid();
  client_->start(Clock::now());
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kReady; })) << client_->stats().last_error;
  EXPECT_EQ(link_->stats().load_failures, 0u) << link_->last_error();
  EXPECT_EQ(link_->stats().registration_failures, 0u) << link_->last_error();
  const auto conns = listed_conns();
  EXPECT_TRUE(contains(conns, "l2tpvpn"));
  for (const auto& k : keys) EXPECT_TRUE(contains(conns, "cert-" + k.name)) << k.name;
  auto shared = call(vici::Command::kGetShared);
  ASSERT_TRUE(shared);
  EXPECT_TRUE(contains(*shared->response.list("keys"), "l2tpvpn-psk"));

  // What charon runs with: our file (0600), our plugins, exactly, and the pid file it wrote.
  struct stat st {};
  ASSERT_EQ(::stat(charon.config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string log = read_file(dir_ + "/charon.log");
  std::string plugins = "loaded plugins: charon";
  for (const auto& p : charon_plugins(opts_)) plugins += " " + p;
  EXPECT_NE(log.find(plugins + "\n"), std::string::npos) << "charon did not load exactly our plugins";
  EXPECT_EQ(log.find("failed to load"), std::string::npos);
  EXPECT_EQ(parse_pid_file(read_file("/run/charon.pid")), pid);
  EXPECT_FALSE(charon.poll());

  // stop(): SIGTERM is enough, charon exits 0, nothing is left: no process, no pid file, no socket.
  const auto t0 = Clock::now();
  auto exit = charon.stop(10s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, (CharonExit{0, 0})) << exit->to_string();
  EXPECT_LT(Clock::now() - t0, 10s) << "charon needed SIGKILL";
  EXPECT_FALSE(charon.running());
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_NE(::kill(-pid, 0), 0) << "something of charon's process group survived";
  EXPECT_TRUE(charon_processes().empty());
  EXPECT_FALSE(fs::exists("/run/charon.pid"));
  EXPECT_FALSE(fs::exists(opts_.vici_socket));
  EXPECT_FALSE(unix_socket_answers(opts_.vici_socket));
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kDisconnected; }));
}

TEST_F(EmbeddedCharonTest, ACrashIsReportedAndARestartIsUsableAgain) {
  ProfileConfig psk;
  psk.psk = "test-psk-123";
  ASSERT_TRUE(link_->add_profile(psk));
  EmbeddedCharon charon(opts_);
  ASSERT_TRUE(charon.start());
  client_->start(Clock::now());
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kReady; })) << client_->stats().last_error;

  // A crash: SIGKILL from outside. poll() (the daemon calls it on SIGCHLD) reports it once.
  const pid_t first = charon.pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  std::optional<CharonExit> exit;
  ASSERT_TRUE(run_until([&] { return (exit = charon.poll()).has_value(); }));
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_FALSE(charon.running());
  EXPECT_FALSE(charon.poll());
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kDisconnected; }));
  // The killed charon left its pid file and socket; neither stops the restart.
  EXPECT_EQ(parse_pid_file(read_file("/run/charon.pid")), first);

  RestartBackoff backoff;
  const auto at = backoff.on_exited(Clock::now());
  EXPECT_GT(at, Clock::now());
  ASSERT_TRUE(charon.start());
  backoff.on_started(Clock::now());
  EXPECT_NE(charon.pid(), first);
  const auto syncs = link_->stats().syncs;
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kReady && link_->stats().syncs > syncs; }))
      << client_->stats().last_error;
  EXPECT_TRUE(contains(listed_conns(), "l2tpvpn"));
  EXPECT_EQ(link_->stats().load_failures, 0u) << link_->last_error();

  // A second EmbeddedCharon for the same host refuses: the pid file names a live charon that is not its own.
  EmbeddedCharonOptions other = opts_;
  other.runtime_dir = dir_ + "/run2";
  other.vici_socket = dir_ + "/run2/charon.vici";
  EmbeddedCharon second(other);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CharonError::Kind::kAlreadyRunning);
  EXPECT_EQ(st.error().pid, charon.pid());

  ASSERT_TRUE(charon.stop(10s));
  EXPECT_TRUE(charon_processes().empty());
  EXPECT_EQ(charon.starts(), 2u);
}

}  // namespace
}  // namespace l2tpvpn::ipsec
