// Runs a helper program to completion (iptables-restore, nft, sysctl writes are done directly): posix_spawn, no
// shell, stdin fed from a string, stdout+stderr captured (bounded). Blocking: used at start-up, reload and exit,
// never on the packet path.
//
// Thread-safety: each call is independent.
#pragma once

#include <string>
#include <vector>

namespace l2tpvpn {

struct ProcessResult {
  int exit_code = -1;  // -1: could not start; 128+N: killed by signal N
  std::string output;  // stdout and stderr interleaved, at most 64 KiB
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = {});

// True if `name` is an executable found in PATH (or an absolute path to one).
bool have_program(const std::string& name);

}  // namespace l2tpvpn
