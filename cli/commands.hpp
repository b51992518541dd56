// l2tpvpnctl's commands. Each takes the whole command line after the global options (args[0] is the command
// word) and returns the exit status (kExitOk, kExitFailed, kExitUsage).
//
//   daemon_commands.cpp      status [--json], sessions [--json], disconnect TUNNEL [SESSION] | --user NAME
//   user_commands.cpp        user add|del|list|passwd
//   client_setup_command.cpp client-setup [--user NAME] [--os LIST] [--server HOST] [--name NAME]
//                                         [--show-password] [--json]
//
// Control requests they send: status, sessions, disconnect {tunnel[, session]}, disconnect-user {user} (answer
// sessions: N), users-reload.
//
// Thread-safety: as CommandContext (one per call).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli/command_context.hpp"

namespace l2tpvpn::cli {

int run_status(CommandContext& ctx, const std::vector<std::string>& args);
int run_sessions(CommandContext& ctx, const std::vector<std::string>& args);
int run_disconnect(CommandContext& ctx, const std::vector<std::string>& args);

// Users (ppp::UserStore, mode 0600). A password is generated (printed once, on stdout) or read as one line of
// stdin (--password-stdin), never taken from argv. Static addresses are checked against the configured pool
// (ppp::IpPool) before saving, so a reservation the daemon would refuse is refused here. After a change the
// daemon is asked to reload the file.
int run_user(CommandContext& ctx, const std::vector<std::string>& args);

// The address clients dial comes from --server, else [server] public_address, else the default route; the PSK
// from [ipsec] psk or psk_file. Does not talk to the daemon.
int run_client_setup(CommandContext& ctx, const std::vector<std::string>& args);

// 20 characters from a 56-letter alphabet: log2(56) * 20 = 116 bits.
inline constexpr size_t kGeneratedPasswordLength = 20;
// A password of kGeneratedPasswordLength characters from letters and digits without the look-alikes
// (0 O o 1 l I), drawn without modulo bias; nullopt if `random` fails. validate_password accepts every result.
std::optional<std::string> generate_password(const std::function<bool(std::span<uint8_t>)>& random);

}  // namespace l2tpvpn::cli
