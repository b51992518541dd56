// l2tpvpnd: the L2TP/IPsec VPN server daemon.
#include <boost/program_options.hpp>

#include <iostream>

#include "server/config.hpp"
#include "server/config_file.hpp"
#include "server/daemon.hpp"
#include "server/log.hpp"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  po::options_description desc("l2tpvpnd options");
  desc.add_options()("help,h", "show this help")(
      "config,c", po::value<std::string>()->default_value("/etc/l2tpvpn/l2tpvpnd.conf"), "configuration file")(
      "check-config", "validate the configuration and exit (0 = valid)")(
      "log-level", po::value<std::string>(), "override log.level: debug|info|warn|error");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "l2tpvpnd: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  auto config = l2tpvpn::load_config_file(vm["config"].as<std::string>());
  if (!config) {
    std::cerr << "l2tpvpnd: configuration error: " << config.error().to_string() << "\n";
    return 1;
  }
  if (vm.count("log-level") && !l2tpvpn::log::parse_level(vm["log-level"].as<std::string>(), config->log_level)) {
    std::cerr << "l2tpvpnd: --log-level: must be one of debug, info, warn, error\n";
    return 2;
  }
  if (vm.count("check-config")) {
    std::cout << config->path << ": OK\n";
    return 0;
  }
  l2tpvpn::log::set_level(config->log_level);
  l2tpvpn::Daemon daemon(std::move(*config));
  return daemon.run();
}
