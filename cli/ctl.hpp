// l2tpvpnctl, the admin tool, as a library: l2tpvpnctl_main.cpp only builds a CtlEnv (env.hpp) and calls
// run_ctl, so every command is tested with string streams, a temporary users file and a fake daemon.
//
//   l2tpvpnctl [-c CONFIG] [-s SOCKET] <command> ...
//     status [--json]                          server, IPsec, tunnels and sessions as tables (or the raw JSON)
//     sessions [--json]                        the sessions table
//     disconnect TUNNEL [SESSION]              end a tunnel (StopCCN) or one session (CDN)
//     disconnect --user NAME                   end every session of a user
//     user add NAME [--address A] [--password-stdin]
//     user del NAME [--disconnect]
//     user list [--json]
//     user passwd NAME [--password-stdin]
//     client-setup [--user NAME] [--os windows|macos|ios|android|all] [--server HOST] [--name NAME]
//                  [--show-password] [--json]
//
// The pieces: args (parsing), commands (what each command does, on a CommandContext), render (tables),
// client_setup (the per-OS settings), env (the outside world).
//
// Secrets: a password is never taken from argv (ps and shell history would show it): it is generated (printed
// once, on stdout) or read as one line from stdin. Passwords and the PSK are printed only by the commands whose
// job that is (user add/passwd, client-setup) and never to stderr.
//
// Users: the file is config.users_file (ppp::UserStore, mode 0600). After a change the daemon is asked to reload
// ({"cmd":"users-reload"}); a daemon that is not running picks the file up when it starts, so that is a note on
// stderr, not an error. Before saving, static addresses are checked against the configured pool (ppp::IpPool),
// so a reservation the daemon would refuse is refused here.
//
// Exit status: 0 done, 1 the operation failed (message on stderr), 2 usage error (usage on stderr).
//
// Thread-safety: run_ctl is re-entrant; everything it touches comes through CtlEnv.
#pragma once

#include <string>
#include <vector>

#include "cli/env.hpp"

namespace l2tpvpn::cli {

// Runs one l2tpvpnctl command line (without the program name). Returns the exit status.
int run_ctl(const std::vector<std::string>& args, CtlEnv& env);

}  // namespace l2tpvpn::cli
