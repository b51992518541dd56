#include "ipsec/vici_session.hpp"

#include <utility>

namespace l2tpvpn::vici {

const char* to_string(CommandError::Kind k) {
  switch (k) {
    case CommandError::Kind::kUnknownCommand: return "unknown command";
    case CommandError::Kind::kFailed: return "command failed";
    case CommandError::Kind::kUnknownEvent: return "unknown event";
    case CommandError::Kind::kDisconnected: return "disconnected";
    case CommandError::Kind::kEncode: return "request not encodable";
  }
  return "unknown error";
}

const char* command_name(Command c) {
  switch (c) {
    case Command::kVersion: return "version";
    case Command::kStats: return "stats";
    case Command::kReloadSettings: return "reload-settings";
    case Command::kLoadConn: return "load-conn";
    case Command::kUnloadConn: return "unload-conn";
    case Command::kGetConns: return "get-conns";
    case Command::kListConns: return "list-conns";
    case Command::kLoadShared: return "load-shared";
    case Command::kUnloadShared: return "unload-shared";
    case Command::kGetShared: return "get-shared";
    case Command::kLoadKey: return "load-key";
    case Command::kListSas: return "list-sas";
    case Command::kTerminate: return "terminate";
  }
  return "";
}

const char* stream_event(Command c) {
  switch (c) {
    case Command::kListConns: return "list-conn";
    case Command::kListSas: return "list-sa";
    default: return nullptr;
  }
}

Status<CommandError> Session::submit(Command c, Message args, CommandCallback cb) {
  if (const char* ev = stream_event(c)) return streamed_command(command_name(c), std::move(args), ev, std::move(cb));
  return command(command_name(c), std::move(args), std::move(cb));
}

Status<CommandError> Session::enqueue(Op op, const Packet& packet) {
  if (!connected_) return unexpected(CommandError{CommandError::Kind::kDisconnected, "not connected to charon"});
  auto frame = encode_frame(packet);
  if (!frame) return unexpected(CommandError{CommandError::Kind::kEncode, to_string(frame.error())});
  op.frame = std::move(*frame);
  op.serial = next_serial_++;
  ops_.push_back(std::move(op));
  pump();
  return {};
}

Status<CommandError> Session::command(std::string name, Message args, CommandCallback cb) {
  Op op;
  op.kind = Op::Kind::kCommand;
  op.name = name;
  op.on_reply = std::move(cb);
  return enqueue(std::move(op), Packet{PacketType::kCmdRequest, std::move(name), std::move(args)});
}

Status<CommandError> Session::streamed_command(std::string name, Message args, std::string event, CommandCallback cb) {
  if (!connected_) return unexpected(CommandError{CommandError::Kind::kDisconnected, "not connected to charon"});
  // Encode all three first so that a failure leaves nothing half-queued.
  auto reg = encode_frame(Packet{PacketType::kEventRegister, event, {}});
  auto cmd = encode_frame(Packet{PacketType::kCmdRequest, name, std::move(args)});
  auto unreg = encode_frame(Packet{PacketType::kEventUnregister, event, {}});
  for (const auto* f : {&reg, &cmd, &unreg})
    if (!*f) return unexpected(CommandError{CommandError::Kind::kEncode, to_string(f->error())});

  Op r;
  r.kind = Op::Kind::kRegister;
  r.name = event;
  r.part_of_stream = true;
  r.frame = std::move(*reg);
  r.serial = next_serial_++;
  Op c;
  c.kind = Op::Kind::kCommand;
  c.name = std::move(name);
  c.stream_event = event;
  c.on_reply = std::move(cb);
  c.frame = std::move(*cmd);
  c.serial = next_serial_++;
  Op u;
  u.kind = Op::Kind::kUnregister;
  u.name = std::move(event);
  u.part_of_stream = true;
  u.frame = std::move(*unreg);
  u.serial = next_serial_++;
  ops_.push_back(std::move(r));
  ops_.push_back(std::move(c));
  ops_.push_back(std::move(u));
  pump();
  return {};
}

Status<CommandError> Session::register_event(std::string event, RegisterCallback cb) {
  Op op;
  op.kind = Op::Kind::kRegister;
  op.name = event;
  op.on_confirm = std::move(cb);
  return enqueue(std::move(op), Packet{PacketType::kEventRegister, std::move(event), {}});
}

Status<CommandError> Session::unregister_event(std::string event, RegisterCallback cb) {
  Op op;
  op.kind = Op::Kind::kUnregister;
  op.name = event;
  op.on_confirm = std::move(cb);
  return enqueue(std::move(op), Packet{PacketType::kEventUnregister, std::move(event), {}});
}

void Session::on_connect() {
  connected_ = true;
  reader_.reset();
  out_.clear();
  pump();
}

void Session::on_disconnect() {
  connected_ = false;
  reader_.reset();
  out_.clear();
  std::deque<Op> dropped;
  dropped.swap(ops_);
  const CommandError err{CommandError::Kind::kDisconnected, "connection to charon lost"};
  for (auto& op : dropped) {
    if (op.on_reply) op.on_reply(unexpected(err));
    if (op.on_confirm) op.on_confirm(unexpected(err));
  }
}

void Session::pump() {
  if (!connected_ || ops_.empty() || ops_.front().sent) return;
  Op& head = ops_.front();
  out_.insert(out_.end(), head.frame.begin(), head.frame.end());
  head.frame.clear();
  head.frame.shrink_to_fit();
  head.sent = true;
  if (head.kind == Op::Kind::kCommand) ++stats_.commands_sent;
}

Bytes Session::take_output() {
  Bytes b;
  b.swap(out_);
  return b;
}

std::optional<uint64_t> Session::outstanding() const {
  if (ops_.empty() || !ops_.front().sent) return std::nullopt;
  return ops_.front().serial;
}

Status<SessionFailure> Session::fail(SessionFailure::Kind kind, std::string detail) {
  ++stats_.protocol_errors;
  return unexpected(SessionFailure{kind, std::move(detail)});
}

Status<SessionFailure> Session::on_bytes(ByteView data) {
  if (!connected_) return {};
  auto st = reader_.feed(data);
  if (!st) return fail(SessionFailure::Kind::kFrame, to_string(st.error()));
  while (connected_) {
    auto payload = reader_.pop();
    if (!payload) break;
    auto packet = decode_packet(*payload);
    if (!packet) return fail(SessionFailure::Kind::kPacket, to_string(packet.error()));
    auto handled = handle(std::move(*packet));
    if (!handled) return handled;
  }
  return {};
}

Status<SessionFailure> Session::handle(Packet packet) {
  const bool head_sent = !ops_.empty() && ops_.front().sent;
  switch (packet.type) {
    case PacketType::kCmdRequest:
    case PacketType::kEventRegister:
    case PacketType::kEventUnregister:
      return fail(SessionFailure::Kind::kUnexpectedPacket,
                  std::string("server sent client-side packet ") + to_string(packet.type));

    case PacketType::kEvent: {
      if (head_sent && ops_.front().kind == Op::Kind::kCommand && !ops_.front().stream_event.empty() &&
          ops_.front().stream_event == packet.name) {
        ops_.front().stream.push_back(std::move(packet.message));
        ++stats_.stream_events;
        return {};
      }
      ++stats_.events_received;
      if (event_handler_) event_handler_(packet.name, packet.message);
      return {};
    }

    case PacketType::kCmdResponse:
    case PacketType::kCmdUnknown: {
      if (!head_sent || ops_.front().kind != Op::Kind::kCommand)
        return fail(SessionFailure::Kind::kUnexpectedPacket,
                    std::string(to_string(packet.type)) + " with no command outstanding");
      Op op = std::move(ops_.front());
      ops_.pop_front();
      pump();
      Result<CommandReply, CommandError> result = CommandReply{};
      if (packet.type == PacketType::kCmdUnknown) {
        ++stats_.commands_failed;
        result = unexpected(CommandError{CommandError::Kind::kUnknownCommand, "charon does not know " + op.name});
      } else if (const std::string* ok = packet.message.value("success"); ok && *ok != "yes") {
        ++stats_.commands_failed;
        result = unexpected(
            CommandError{CommandError::Kind::kFailed, packet.message.value_or("errmsg", op.name + " failed")});
      } else {
        result = CommandReply{std::move(packet.message), std::move(op.stream)};
      }
      if (op.on_reply) op.on_reply(std::move(result));
      return {};
    }

    case PacketType::kEventConfirm:
    case PacketType::kEventUnknown: {
      if (!head_sent || ops_.front().kind == Op::Kind::kCommand)
        return fail(SessionFailure::Kind::kUnexpectedPacket,
                    std::string(to_string(packet.type)) + " with no registration outstanding");
      Op op = std::move(ops_.front());
      ops_.pop_front();
      const bool unknown = packet.type == PacketType::kEventUnknown;
      Op failed_command;
      bool stream_failed = false;
      if (unknown && op.part_of_stream && op.kind == Op::Kind::kRegister && ops_.size() >= 2) {
        // The stream cannot be received, so the command and its deregistration are not sent at all.
        failed_command = std::move(ops_.front());
        ops_.pop_front();
        ops_.pop_front();
        stream_failed = true;
      }
      pump();
      const CommandError err{CommandError::Kind::kUnknownEvent, "charon does not know event " + op.name};
      if (op.on_confirm) {
        if (unknown) {
          op.on_confirm(unexpected(err));
        } else {
          op.on_confirm({});
        }
      }
      if (stream_failed && failed_command.on_reply) failed_command.on_reply(unexpected(err));
      return {};
    }
  }
  return fail(SessionFailure::Kind::kUnexpectedPacket, "unhandled packet type");
}

}  // namespace l2tpvpn::vici
