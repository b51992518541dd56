// l2tpvpnctl's command line, parsed with Boost.Program_options: first the global options up to the command word
// (parse_global_args), then each command's own options and positionals (parse_command_args, from a CommandSpec).
//
// Errors are an ArgsError, never Boost's own text: Boost names an unknown option together with whatever follows
// its '=', which may be a secret typed in the wrong place. An ArgsError names only the option (the part before
// '='), and an option called --password or -p is refused outright whatever its spelling: a password on the
// command line would show in ps and in the shell history.
//
// Thread-safety: pure functions; nothing shared.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace l2tpvpn::cli {

inline constexpr const char* kDefaultConfigPath = "/etc/l2tpvpn/l2tpvpnd.conf";

enum class ArgsErrorKind : uint8_t {
  kUnknownOption,        // an option the command does not have
  kPasswordInArguments,  // --password / -p: refused, never parsed
  kNeedsValue,           // an option that takes a value was given none (or an empty one after '=')
  kTakesNoValue,         // a flag given a value (--json=yes)
  kMissingArgument,      // fewer positionals than the command needs
  kUnexpectedArgument,   // more positionals than the command takes
  kBadSyntax,            // anything else Boost.Program_options refuses
};

struct ArgsError {
  ArgsErrorKind kind;
  std::string option;    // as typed up to '=' ("--jsn", "-c"); empty for positional errors
  std::string argument;  // kMissingArgument: what is missing ("NAME"); kUnexpectedArgument: the extra word
  // The message without any prefix, e.g. "unknown option --jsn", "--address needs a value",
  // "unexpected argument \"x\"". Never contains an option's value.
  std::string to_string() const;
};

// The global options, before the command word: -c/--config FILE, -s/--socket PATH, -h/--help.
struct GlobalArgs {
  std::string config_path = kDefaultConfigPath;
  bool config_given = false;
  std::optional<std::string> socket;
  bool help = false;
  std::vector<std::string> command;  // the command word and every word after it, unparsed; empty: none given
};
// A repeated option's last value counts. Errors: unknown option, a missing or empty value, a flag given a value.
Result<GlobalArgs, ArgsError> parse_global_args(const std::vector<std::string>& args);

// What one command accepts.
struct OptionSpec {
  std::string name;  // the long name without dashes: "json"
  bool takes_value = false;
};
struct CommandSpec {
  std::vector<OptionSpec> options = {};
  std::vector<std::string> positionals = {};  // in order ("TUNNEL", "SESSION")
  size_t required = 0;                        // how many of `positionals` must be given
};

struct CommandArgs {
  std::map<std::string, std::string> options;  // long name -> value ("" for a flag)
  std::vector<std::string> positionals;        // at most spec.positionals.size()
  bool has(const std::string& name) const { return options.count(name) != 0; }
  // The option's value; "" when it was not given.
  const std::string& value(const std::string& name) const;
};
// Parses a command's words (after the command word(s) themselves). "--" ends the options; a repeated option's
// last value counts; "--name=" is an empty value. A missing required positional is kMissingArgument naming the
// first one missing.
Result<CommandArgs, ArgsError> parse_command_args(const CommandSpec& spec, std::span<const std::string> args);

// A tunnel or session ID: 1..65535, decimal, nothing else.
std::optional<uint16_t> parse_id(const std::string& s);

}  // namespace l2tpvpn::cli
