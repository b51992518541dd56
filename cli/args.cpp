// l2tpvpnctl's argument parsing: Boost.Program_options does the tokenising (long options with '=' or the next
// word, short options, "--", positionals); this file declares what each command takes, stops the global parse at
// the command word, and turns Boost's exceptions into ArgsError (see args.hpp for why Boost's text is not shown).
#include "cli/args.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <functional>

namespace l2tpvpn::cli {

namespace po = boost::program_options;

namespace {

// --name=value or --name value; -c value or -cvalue. No guessing from prefixes (--js is not --json), no bundled
// short flags, no case folding, no slash options.
constexpr int kStyle = po::command_line_style::allow_long | po::command_line_style::long_allow_adjacent |
                       po::command_line_style::long_allow_next | po::command_line_style::allow_short |
                       po::command_line_style::allow_dash_for_short | po::command_line_style::short_allow_adjacent |
                       po::command_line_style::short_allow_next;

// Extra words after a command's last positional land here, so that the error can name the first of them.
constexpr const char* kUnexpected = "unexpected-argument";
constexpr const char* kCommand = "command";

// An option as typed, without what follows '=' ("--password=x" -> "--password"). A single-dash option is its
// dash and first letter ("-ptopsecret" -> "-p"): what follows may be its value.
std::string typed_option_name(const std::string& token) {
  std::string name = token.substr(0, token.find('='));
  if (name.size() > 2 && name[0] == '-' && name[1] != '-') name.resize(2);
  return name;
}

ArgsError option_error(ArgsErrorKind kind, const std::string& token) {
  std::string name = typed_option_name(token);
  if (name == "--password" || name == "-p") return ArgsError{ArgsErrorKind::kPasswordInArguments, name, {}};
  return ArgsError{kind, std::move(name), {}};
}

// Boost names a known option in its long form ("--config"); the message names it as the user typed it ("-c"):
// the last word spelling it either way.
std::string as_typed(const std::string& boost_name, const po::options_description& desc,
                     const std::vector<std::string>& words) {
  if (boost_name.rfind("--", 0) != 0) return boost_name;
  const po::option_description* od = desc.find_nothrow(boost_name.substr(2), false);
  if (!od) return boost_name;
  const std::string short_name = od->canonical_display_name(po::command_line_style::allow_dash_for_short);
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    std::string name = typed_option_name(*it);
    if (name == boost_name || name == short_name) return name;
  }
  return boost_name;
}

// Boost.Program_options' exceptions as an ArgsError. Their what() is never used: it quotes values.
ArgsError translate(const po::error& e, const po::options_description& desc, const std::vector<std::string>& words) {
  using Syntax = po::invalid_command_line_syntax;
  if (const auto* u = dynamic_cast<const po::unknown_option*>(&e))
    return option_error(ArgsErrorKind::kUnknownOption, u->get_option_name());
  if (const auto* s = dynamic_cast<const Syntax*>(&e)) {
    std::string name = as_typed(s->get_option_name(), desc, words);
    switch (s->kind()) {
      case Syntax::missing_parameter:
      case Syntax::empty_adjacent_parameter: return option_error(ArgsErrorKind::kNeedsValue, name);
      case Syntax::extra_parameter: return option_error(ArgsErrorKind::kTakesNoValue, name);
      default: return option_error(ArgsErrorKind::kBadSyntax, name);
    }
  }
  if (const auto* n = dynamic_cast<const po::error_with_option_name*>(&e))
    return option_error(ArgsErrorKind::kBadSyntax, n->get_option_name());
  return ArgsError{ArgsErrorKind::kBadSyntax, {}, {}};
}

// Our own style parser, tried before Boost's. It takes
//  - "--name=": the option with an empty value, as "--name ''" is (Boost's own parser refuses the spelling).
//    Boost then checks the name as for any other option: a flag takes no value, an unknown name is unknown;
//  - with `stop_at_command`, the first word that is not an option: that word and everything after it become
//    positionals, left for the command's own parser (as Boost does with what follows "--").
// Anything else is left to Boost (an empty answer).
std::function<std::vector<po::option>(std::vector<std::string>&)> style_parser(bool stop_at_command) {
  return [stop_at_command](std::vector<std::string>& words) {
    std::vector<po::option> out;
    const std::string& w = words.front();
    if (w.size() > 3 && w.rfind("--", 0) == 0 && w.find('=') == w.size() - 1) {
      po::option o;
      o.string_key = w.substr(2, w.size() - 3);
      o.value.emplace_back();
      o.original_tokens.push_back(w);
      out.push_back(std::move(o));
      words.erase(words.begin());
      return out;
    }
    if (!stop_at_command || (w.size() > 1 && w[0] == '-')) return out;
    for (const auto& word : words) {
      po::option o;
      o.value.push_back(word);
      o.original_tokens.push_back(word);
      o.position_key = INT_MAX;  // a positional; Boost numbers them afterwards
      out.push_back(std::move(o));
    }
    words.clear();
    return out;
  };
}

// A name that must only ever be filled by position, never typed as --NAME.
bool positional_only(const std::string& key, const std::vector<std::string>& positionals) {
  return key == kUnexpected || key == kCommand ||
         std::find(positionals.begin(), positionals.end(), key) != positionals.end();
}

}  // namespace

std::string ArgsError::to_string() const {
  switch (kind) {
    case ArgsErrorKind::kUnknownOption: return "unknown option " + option;
    case ArgsErrorKind::kPasswordInArguments:
      return "passwords are not taken on the command line (ps and shell history would show them): leave it out to "
             "get a generated one, or use --password-stdin";
    case ArgsErrorKind::kNeedsValue: return option + " needs a value";
    case ArgsErrorKind::kTakesNoValue: return option + " takes no value";
    case ArgsErrorKind::kMissingArgument: return "missing " + argument;
    case ArgsErrorKind::kUnexpectedArgument: return "unexpected argument \"" + argument + "\"";
    case ArgsErrorKind::kBadSyntax: return option.empty() ? "cannot parse the arguments" : "cannot parse " + option;
  }
  return "cannot parse the arguments";
}

const std::string& CommandArgs::value(const std::string& name) const {
  static const std::string kNone;
  auto it = options.find(name);
  return it == options.end() ? kNone : it->second;
}

Result<GlobalArgs, ArgsError> parse_global_args(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                          //
      ("config,c", po::value<std::string>())  //
      ("socket,s", po::value<std::string>())  //
      ("help,h", po::bool_switch())           //
      (kCommand, po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add(kCommand, -1);

  GlobalArgs out;
  try {
    po::parsed_options parsed = po::command_line_parser(args)
                                    .options(desc)
                                    .positional(positional)
                                    .style(kStyle)
                                    .extra_style_parser(style_parser(/*stop_at_command=*/true))
                                    .run();
    // In command-line order: a repeated option's last value counts.
    for (const auto& o : parsed.options) {
      if (o.position_key >= 0) {
        out.command.push_back(o.value.front());
        continue;
      }
      const std::string name = typed_option_name(o.original_tokens.front());
      if (o.string_key == kCommand) return unexpected(option_error(ArgsErrorKind::kUnknownOption, name));
      if (o.string_key == "help") {
        out.help = true;
        continue;
      }
      std::string value = o.value.front();
      // "-c=FILE": Boost keeps the '=' as part of a short option's adjacent value.
      const std::string& token = o.original_tokens.front();
      if (o.original_tokens.size() == 1 && token.size() > 2 && token[1] != '-' && token[2] == '=') value.erase(0, 1);
      if (value.empty()) return unexpected(ArgsError{ArgsErrorKind::kNeedsValue, name, {}});
      if (o.string_key == "config") {
        out.config_path = value;
        out.config_given = true;
      } else {
        out.socket = value;
      }
    }
  } catch (const po::error& e) {
    return unexpected(translate(e, desc, args));
  }
  return out;
}

Result<CommandArgs, ArgsError> parse_command_args(const CommandSpec& spec, std::span<const std::string> args) {
  po::options_description desc;
  for (const auto& o : spec.options) {
    if (o.takes_value)
      desc.add_options()(o.name.c_str(), po::value<std::string>());
    else
      desc.add_options()(o.name.c_str(), po::bool_switch());
  }
  po::positional_options_description positional;
  for (const auto& p : spec.positionals) {
    desc.add_options()(p.c_str(), po::value<std::string>());
    positional.add(p.c_str(), 1);
  }
  desc.add_options()(kUnexpected, po::value<std::vector<std::string>>());
  positional.add(kUnexpected, -1);

  const std::vector<std::string> words(args.begin(), args.end());
  CommandArgs out;
  std::vector<std::string> unexpected_words;
  try {
    po::parsed_options parsed = po::command_line_parser(words)
                                    .options(desc)
                                    .positional(positional)
                                    .style(kStyle)
                                    .extra_style_parser(style_parser(/*stop_at_command=*/false))
                                    .run();
    // In command-line order: a repeated option's last value counts.
    for (const auto& o : parsed.options) {
      if (o.position_key >= 0) {
        (o.string_key == kUnexpected ? unexpected_words : out.positionals).push_back(o.value.front());
      } else if (positional_only(o.string_key, spec.positionals)) {
        return unexpected(option_error(ArgsErrorKind::kUnknownOption, o.original_tokens.front()));
      } else {
        out.options[o.string_key] = o.value.empty() ? std::string() : o.value.front();
      }
    }
  } catch (const po::error& e) {
    return unexpected(translate(e, desc, words));
  }
  if (!unexpected_words.empty())
    return unexpected(ArgsError{ArgsErrorKind::kUnexpectedArgument, {}, unexpected_words.front()});
  if (out.positionals.size() < spec.required)
    return unexpected(ArgsError{ArgsErrorKind::kMissingArgument, {}, spec.positionals[out.positionals.size()]});
  return out;
}

std::optional<uint16_t> parse_id(const std::string& s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace l2tpvpn::cli
