#include "server/ipsec_supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/os/private_file.hpp"
#include "common/os/proc.hpp"
#include "common/os/stop.hpp"
#include "server/log.hpp"
#include "server/xfrm_purge.hpp"

namespace l2tpvpn {

namespace asio = boost::asio;

namespace {

std::string proposal_text(const ipsec::Proposal& p) {
  std::string out;
  for (const auto* part : {&p.encr, &p.integ, &p.prf, &p.dh}) {
    if (part->empty()) continue;
    if (!out.empty()) out += "/";
    out += *part;
  }
  return out;
}

ipsec::IpAddress to_ip(const l2tp::PeerAddress& p) {
  ipsec::IpAddress a;
  a.family = p.family == l2tp::PeerAddress::Family::kV4 ? ipsec::IpAddress::Family::kV4 : ipsec::IpAddress::Family::kV6;
  a.bytes = p.ip;
  return a;
}

// The process is a charon started with our embedded configuration (STRONGSWAN_CONF=<runtime_dir>/charon.conf in
// its environment): a leftover of an earlier l2tpvpnd, not the system's charon, which shares its pid file.
bool is_our_embedded_charon(pid_t pid, const std::string& runtime_dir) {
  if (os::comm_of(pid) != "charon") return false;
  const std::vector<std::string> env = os::environ_of(pid);
  return std::find(env.begin(), env.end(), "STRONGSWAN_CONF=" + runtime_dir + "/charon.conf") != env.end();
}

// A system strongSwan is running or starting: strongswan-starter.service's starter or its charon, or
// charon-systemd (strongswan.service). At boot it may not answer on its VICI socket yet; starting an embedded
// charon then would race it for udp/500 and its pid file.
bool system_strongswan_running(const std::string& runtime_dir) {
  for (pid_t pid : os::list_pids()) {
    const std::string comm = os::comm_of(pid);
    if (comm == "starter" || comm == "charon-systemd") return true;
    if (comm == "charon" && !is_our_embedded_charon(pid, runtime_dir)) return true;
  }
  return false;
}

}  // namespace

Result<ipsec::ProfileConfig, SetupError> profile_from_config(const DaemonConfig& config, bool mark_sas) {
  ipsec::ProfileConfig p;
  p.mark_sas = mark_sas;
  p.psk = config.ipsec.psk;
  if (p.psk.empty()) {
    const std::string& path = config.ipsec.psk_file;
    if (path.empty()) return unexpected(SetupError{SetupPart::kIpsec, 0, config.path + ": ipsec.psk: no pre-shared key (ipsec.psk or ipsec.psk_file)"});
    // os::read_private_file refuses a file group or others can access, or that someone else owns (a secret).
    auto text = os::read_private_file(path);
    if (!text) {
      if (text.error().operation == "permissions")
        return unexpected(SetupError{SetupPart::kIpsec, 0, path + ": ipsec.psk_file must not be accessible by group or others (chmod 600): " +
                          text.error().to_string()});
      return unexpected(SetupError{SetupPart::kIpsec, 0, path + ": cannot read the pre-shared key (ipsec.psk_file): " + text.error().to_string()});
    }
    // The whole file, trailing CR/LF removed (what l2tpvpnctl client-setup prints from it too).
    p.psk = *text;
    while (!p.psk.empty() && (p.psk.back() == '\r' || p.psk.back() == '\n')) p.psk.pop_back();
    if (p.psk.empty()) return unexpected(SetupError{SetupPart::kIpsec, 0, path + ": ipsec.psk_file is empty"});
  }
  p.crypto = config.ipsec.legacy ? ipsec::CryptoSet::kLegacy : ipsec::CryptoSet::kDefault;
  p.ike_proposals = config.ipsec.ike_proposals;
  p.esp_proposals = config.ipsec.esp_proposals;
  if (config.listen_address != "0.0.0.0") p.local_addrs = {config.listen_address};
  if (auto ok = ipsec::validate(p); !ok) return unexpected(SetupError{SetupPart::kIpsec, 0, config.path + ": ipsec: " + ipsec::to_string(ok.error())});
  return p;
}

IpsecSupervisor::IpsecSupervisor(asio::io_context& io, const DaemonConfig& config,
                                 std::function<void()> on_sa_view)
    : io_(io), config_(config), on_sa_view_(std::move(on_sa_view)), restart_timer_(io), sd_(io), timer_(io) {}

IpsecSupervisor::~IpsecSupervisor() {
  stop();
}

const char* IpsecSupervisor::mode_name() const {
  switch (mode_) {
    case Mode::kSystem: return "system";
    case Mode::kEmbedded: return "embedded";
    case Mode::kNone: break;
  }
  return "none";
}

Status<SetupError> IpsecSupervisor::start() {
  if (!config_.ipsec.required) return {};
  auto profile = profile_from_config(config_, mark_sas_);
  if (!profile) return unexpected(profile.error());
  profile_ = *profile;

  std::string socket;
  const auto& ic = config_.ipsec;
  bool system_up = ipsec::unix_socket_answers(ic.system_vici_socket);
  bool system_present = system_up || system_strongswan_running(config_.runtime_dir);
  if (ic.charon == CharonMode::kSystem || (ic.charon == CharonMode::kAuto && system_present)) {
    if (!system_up)
      log::warn("event=charon_not_answering socket=" + ic.system_vici_socket + " (will keep trying)");
    mode_ = Mode::kSystem;
    socket = ic.system_vici_socket;
  } else {
    mode_ = Mode::kEmbedded;
    ipsec::EmbeddedCharonOptions o;
    o.charon_path = ic.charon_path;
    o.runtime_dir = config_.runtime_dir;
    o.vici_socket = ic.embedded_vici_socket;
    o.port = ic.ike_port;
    o.port_nat_t = ic.nat_t_port;
    o.log_level = config_.log_level == log::Level::kDebug ? 1 : 0;
    charon_ = std::make_unique<ipsec::EmbeddedCharon>(o);
    auto started = charon_->start();
    // Pinned before it is checked (os::ProcessRef), so the stop below reaches that charon or nothing.
    std::optional<os::ProcessRef> stale;
    if (!started && started.error().kind == ipsec::CharonError::Kind::kAlreadyRunning)
      stale = os::ProcessRef::open(started.error().pid);
    if (stale && is_our_embedded_charon(stale->pid(), config_.runtime_dir) && !stale->ended()) {
      // A charon of an earlier l2tpvpnd that was killed: its SAs belong to tunnels nobody serves any more.
      log::warn("event=stale_charon pid=" + std::to_string(stale->pid()) + " action=stop");
      os::StopPolicy policy;
      policy.poll_interval = std::chrono::milliseconds(50);
      std::vector<os::ProcessRef> processes;
      processes.push_back(std::move(*stale));
      (void)os::stop_processes(processes, policy);
      ::unlink(o.pid_file.c_str());
      started = charon_->start();
    }
    if (!started) return unexpected(SetupError{SetupPart::kIpsec, 0, "embedded charon: " + started.error().to_string()});
    backoff_.on_started(std::chrono::steady_clock::now());
    socket = ic.embedded_vici_socket;
    log::info("event=charon_started mode=embedded pid=" + std::to_string(charon_->pid()) +
              " conf=" + charon_->config_path());
  }

  vici::ClientOptions co;
  co.socket_path = socket;
  client_ = std::make_unique<vici::Client>(co);
  link_ = std::make_unique<ipsec::CharonLink>(client_->session(), registry_);
  if (auto added = link_->add_profile(profile_); !added)
    return unexpected(SetupError{SetupPart::kIpsec, 0, "ipsec profile: " + ipsec::to_string(added.error())});
  client_->set_on_connected([this] {
    log::info("event=vici_connected socket=" + config_socket());
    link_->on_connected();
  });
  client_->set_on_disconnected([this](const std::string& reason) {
    log::warn("event=vici_disconnected reason=\"" + reason + "\"");
    link_->on_disconnected();
  });
  link_->set_on_state([this](ipsec::LinkState s) {
    log::info(std::string("event=charon_link state=") + ipsec::to_string(s) +
              (link_->last_error().empty() ? "" : " last_error=\"" + link_->last_error() + "\""));
  });
  client_->start(vici::Clock::now());
  log::info(std::string("event=ipsec_started mode=") + mode_name() + " vici=" + socket);
  after_activity();
  return {};
}

std::string IpsecSupervisor::config_socket() const {
  return mode_ == Mode::kSystem ? config_.ipsec.system_vici_socket : config_.ipsec.embedded_vici_socket;
}

void IpsecSupervisor::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  restart_timer_.cancel();
  if (sd_.is_open()) sd_.release();
  if (link_ && mode_ == Mode::kSystem && client_ && client_->connected()) {
    // Leave a system charon as we found it: our connection and secret go (its SAs with them). The unload
    // requests go one at a time, each after the previous answer, and charon may drop a request whose client has
    // gone: wait (bounded) until every one has been answered, not merely until the first is written.
    link_->remove_profile(profile_.name);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (client_->connected() && (client_->wants_write() || client_->session().queued() > 0) &&
           std::chrono::steady_clock::now() < deadline)
      client_->poll_once(std::chrono::milliseconds(100));
  }
  if (client_) client_->stop();
  if (charon_ && charon_->running()) {
    auto exit = charon_->stop(std::chrono::seconds(5));
    log::info("event=charon_stopped " + (exit ? exit->to_string() : std::string("not running")));
  }
}

void IpsecSupervisor::arm() {
  if (stopped_ || !client_) return;
  if (client_->connection_generation() != generation_) {
    if (sd_.is_open()) sd_.release();  // cancels the waits on the old descriptor; the client owns (closed) it
    generation_ = client_->connection_generation();
    reading_ = writing_ = false;
  }
  if (!sd_.is_open() && client_->fd() >= 0) {
    boost::system::error_code ec;
    sd_.assign(client_->fd(), ec);
    if (ec) log::error("event=vici_watch_failed error=\"" + ec.message() + "\"");
  }
  if (sd_.is_open() && !reading_) watch(asio::posix::descriptor_base::wait_read, reading_, &vici::Client::on_readable);
  if (sd_.is_open() && !writing_ && client_->wants_write())
    watch(asio::posix::descriptor_base::wait_write, writing_, &vici::Client::on_writable);
  if (auto d = client_->next_deadline()) {
    timer_.expires_at(*d);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopped_) return;
      client_->on_timer(vici::Clock::now());
      after_activity();
    });
  } else {
    timer_.cancel();
  }
}

void IpsecSupervisor::watch(asio::posix::descriptor_base::wait_type what, bool& pending,
                            void (vici::Client::*ready)(vici::TimePoint)) {
  pending = true;
  sd_.async_wait(what, [this, &pending, ready, g = generation_](boost::system::error_code ec) {
    if (g != generation_ || stopped_) return;  // a wait on a descriptor of an earlier connection
    pending = false;
    if (ec == asio::error::operation_aborted) return;
    ((*client_).*ready)(vici::Clock::now());
    after_activity();
  });
}

void IpsecSupervisor::after_activity() {
  arm();
  if (on_sa_view_) on_sa_view_();
}

Status<SetupError> IpsecSupervisor::reload_profile() {
  if (!link_) return {};
  auto profile = profile_from_config(config_, mark_sas_);
  if (!profile) return unexpected(profile.error());
  if (auto added = link_->add_profile(*profile); !added)
    return unexpected(SetupError{SetupPart::kIpsec, 0, "ipsec profile: " + ipsec::to_string(added.error())});
  profile_ = *profile;
  log::info(std::string("event=ipsec_profile_reloaded legacy=") + (config_.ipsec.legacy ? "yes" : "no"));
  arm();
  return {};
}

std::optional<ipsec::SaInfo> find_sa(const ipsec::SaRegistry& registry, const l2tp::PeerAddress& peer) {
  return registry.find(to_ip(peer), peer.port, peer.mark);
}

std::optional<uint32_t> find_unique_ike(const ipsec::SaRegistry& registry, const l2tp::PeerAddress& peer) {
  return registry.unique_ike_of(to_ip(peer), peer.port, peer.mark);
}

std::optional<ipsec::SaInfo> IpsecSupervisor::sa_for(const l2tp::PeerAddress& peer) const {
  return find_sa(registry_, peer);
}

std::optional<uint32_t> IpsecSupervisor::ike_of(const l2tp::PeerAddress& peer) const {
  if (auto sa = sa_for(peer)) return sa->ike_id;
  return std::nullopt;
}

std::optional<uint32_t> IpsecSupervisor::unique_ike_of(const l2tp::PeerAddress& peer) const {
  return find_unique_ike(registry_, peer);
}

bool IpsecSupervisor::can_terminate() const {
  return config_.ipsec.required && link_ && client_ && client_->connected();
}

void IpsecSupervisor::terminate_ike(uint32_t ike_id) {
  if (!link_) return;
  ++pending_terminates_;
  link_->terminate_ike(ike_id, [this, ike_id](Status<vici::CommandError> r) {
    if (pending_terminates_ > 0) --pending_terminates_;
    if (!r) log::warn("event=ike_terminate_failed ike_id=" + std::to_string(ike_id));
  });
  arm();
}

void IpsecSupervisor::on_child_exit() {
  if (!charon_ || stopped_) return;
  auto exit = charon_->poll();
  if (!exit) return;
  auto at = backoff_.on_exited(std::chrono::steady_clock::now());
  log::error("event=charon_exited " + exit->to_string() + " restart_in_ms=" +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::milliseconds>(at - std::chrono::steady_clock::now()).count()));
  // A charon that died without deleting its SAs (SIGKILL, crash) leaves them and their policies in the kernel;
  // remove those of the peers the registry still lists before a new charon starts (server/xfrm_purge.hpp).
  if (auto known = registry_.all(); !known.empty()) {
    auto purged = purge_xfrm(known);
    log::warn("event=stale_xfrm_purged peers=" + std::to_string(purged.peers) + " failures=" +
              std::to_string(purged.failures) + (purged.failures ? " error=\"" + purged.last_error + "\"" : ""));
  }
  restart_timer_.expires_at(at);
  restart_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) restart_charon();
  });
}

void IpsecSupervisor::restart_charon() {
  if (stopped_ || !charon_) return;
  auto started = charon_->start();
  if (!started) {
    log::error("event=charon_restart_failed error=\"" + started.error().to_string() + "\"");
    auto at = backoff_.on_exited(std::chrono::steady_clock::now());
    restart_timer_.expires_at(at);
    restart_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) restart_charon();
    });
    return;
  }
  backoff_.on_started(std::chrono::steady_clock::now());
  log::info("event=charon_started mode=embedded pid=" + std::to_string(charon_->pid()));
  // The VICI client reconnects on its own (back-off) and CharonLink re-loads the profile.
}

IpsecView IpsecSupervisor::view() const {
  IpsecView v = view_without_sas();
  for (const auto& sa : registry_.all()) {
    v.sas.push_back(SaView{sa.remote_address.to_string(), sa.remote_port, sa.nat, sa.encap,
                           sa.ike_name + "[" + std::to_string(sa.ike_id) + "]",
                           sa.child_name + "{" + std::to_string(sa.child_id) + "}", proposal_text(sa.ike),
                           proposal_text(sa.esp), sa.bytes_in, sa.bytes_out, sa.mark_in, sa.mark_out});
  }
  return v;
}

size_t IpsecSupervisor::sa_count() const { return registry_.size(); }

IpsecView IpsecSupervisor::view_without_sas() const {
  IpsecView v;
  v.required = config_.ipsec.required;
  v.charon = mode_name();
  v.vici_socket = mode_ == Mode::kNone ? "" : config_socket();
  v.link = link_ ? ipsec::to_string(link_->state()) : "disconnected";
  if (charon_ && charon_->running()) v.charon_pid = charon_->pid();
  return v;
}

SessionIpsecView session_ipsec_view(const ipsec::SaInfo& sa) {
  return SessionIpsecView{sa.nat, sa.remote_port, proposal_text(sa.ike), proposal_text(sa.esp)};
}

}  // namespace l2tpvpn
