// l2tpvpnctl: the admin tool (status, sessions, disconnect, users, client setup). The commands live in cli/;
// this only connects them to the process's streams, arguments and exit status.
#include <iostream>
#include <string>
#include <vector>

#include "cli/ctl.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  l2tpvpn::cli::CtlEnv env = l2tpvpn::cli::make_default_ctl_env(std::cout, std::cerr, std::cin);
  int rc = l2tpvpn::cli::run_ctl(args, env);
  std::cout.flush();
  return rc;
}
