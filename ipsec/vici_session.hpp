// The VICI client protocol, sans-IO: which packet to send next and what an incoming packet means.
//
// VICI has no request ids: "only one command can be active at a time on a single connection" (vici/README.md,
// "Commands"). Session therefore keeps a FIFO of operations (command, event registration, deregistration) and
// has exactly one on the wire at a time; the answer type tells which it was (CMD_RESPONSE/CMD_UNKNOWN for a
// command, EVENT_CONFIRM/EVENT_UNKNOWN for a (de)registration). EVENT packets may arrive at any time, also in the
// middle of a command; those of a streamed command's event (list-sa during list-sas) are collected into that
// command's reply, the others go to the event handler.
//
// A streamed command is sent as the spec prescribes: EVENT_REGISTER(event), CMD_REQUEST, EVENT_UNREGISTER(event).
//
// The caller (vici::Client, or a test) moves bytes: on_bytes() with what the socket read, take_output() for what
// to write, on_connect()/on_disconnect() around each connection. Nothing here reads the clock; for request
// timeouts the adapter watches outstanding() and drops the connection if an answer is overdue.
//
// Callbacks run inside on_bytes()/on_disconnect(); they may submit new operations, but must not destroy the
// Session. Submitting while disconnected fails at once with kDisconnected (nothing is queued for "later": after a
// reconnect the owner re-applies its state, see ipsec::CharonLink).
//
// Thread-safety: none; one thread drives a Session.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "ipsec/vici_message.hpp"
#include "ipsec/vici_packet.hpp"

namespace l2tpvpn::vici {

// The commands l2tpvpn uses (vici/README.md, "Client-initiated commands"). Streamed ones name their event.
enum class Command : uint8_t {
  kVersion,
  kStats,
  kReloadSettings,
  kLoadConn,
  kUnloadConn,
  kGetConns,
  kListConns,  // streams list-conn
  kLoadShared,
  kUnloadShared,
  kGetShared,
  kLoadKey,
  kListSas,  // streams list-sa
  kTerminate,
};
const char* command_name(Command c);
// The event a command streams its results with, or nullptr.
const char* stream_event(Command c);

// Events l2tpvpn registers for (vici/README.md, "Server-issued events").
namespace event {
inline constexpr const char* kIkeUpdown = "ike-updown";
inline constexpr const char* kChildUpdown = "child-updown";
inline constexpr const char* kIkeRekey = "ike-rekey";
inline constexpr const char* kChildRekey = "child-rekey";
inline constexpr const char* kIkeUpdate = "ike-update";
}  // namespace event

struct CommandError {
  enum class Kind : uint8_t {
    kUnknownCommand,  // CMD_UNKNOWN: charon has no such command (plugin missing, too old)
    kFailed,          // CMD_RESPONSE with success != yes; message = errmsg
    kUnknownEvent,    // EVENT_UNKNOWN for a registration
    kDisconnected,    // not connected, or the connection dropped before the answer
    kEncode,          // the request could not be encoded (too large, name too long)
  };
  Kind kind = Kind::kDisconnected;
  std::string message;
};
const char* to_string(CommandError::Kind k);

struct CommandReply {
  Message response;             // the CMD_RESPONSE message
  std::vector<Message> stream;  // streamed events, in arrival order (streamed commands only)
};

using CommandCallback = std::function<void(Result<CommandReply, CommandError>)>;
using RegisterCallback = std::function<void(Status<CommandError>)>;
using EventHandler = std::function<void(const std::string& event, const Message& message)>;

// Why the connection must be dropped: the byte stream is no longer trustworthy.
struct SessionFailure {
  enum class Kind : uint8_t {
    kFrame,             // frame too large / empty
    kPacket,            // a frame that does not decode as a packet
    kUnexpectedPacket,  // an answer with nothing outstanding, or of the wrong kind, or a client-side type
  };
  Kind kind = Kind::kFrame;
  std::string detail;
};

struct SessionStats {
  uint64_t commands_sent = 0;
  uint64_t commands_failed = 0;  // kUnknownCommand + kFailed
  uint64_t events_received = 0;  // delivered to the event handler
  uint64_t stream_events = 0;    // collected into streamed replies
  uint64_t protocol_errors = 0;  // SessionFailures returned by on_bytes
};

class Session {
 public:
  // Sends `name` with `args`; `cb` gets the response. A response with success=no is reported as kFailed.
  // Errors (returned, cb not called): kDisconnected, kEncode.
  Status<CommandError> command(std::string name, Message args, CommandCallback cb);
  // As command(), collecting `event` packets that arrive until the response (list-sas -> list-sa).
  Status<CommandError> streamed_command(std::string name, Message args, std::string event, CommandCallback cb);
  // command() or streamed_command() by the Command's table entry.
  Status<CommandError> submit(Command c, Message args, CommandCallback cb);
  Status<CommandError> register_event(std::string event, RegisterCallback cb = {});
  Status<CommandError> unregister_event(std::string event, RegisterCallback cb = {});
  void set_event_handler(EventHandler h) { event_handler_ = std::move(h); }

  // Connection lifecycle. on_connect() starts with clean framing; on_disconnect() fails every outstanding and
  // queued operation with kDisconnected (callbacks run after the queue is cleared).
  void on_connect();
  void on_disconnect();
  bool connected() const { return connected_; }

  // Feeds bytes read from the socket. A failure means: drop the connection (then call on_disconnect()).
  Status<SessionFailure> on_bytes(ByteView data);
  // Bytes to write, in order. The caller writes them all (buffering what the socket does not take).
  Bytes take_output();
  bool wants_write() const { return !out_.empty(); }

  // Serial number of the operation on the wire awaiting its answer, if any. Changes with every operation, so an
  // adapter can time out a single slow answer.
  std::optional<uint64_t> outstanding() const;
  size_t queued() const { return ops_.size(); }
  const SessionStats& stats() const { return stats_; }

 private:
  struct Op {
    enum class Kind : uint8_t { kCommand, kRegister, kUnregister };
    Kind kind = Kind::kCommand;
    uint64_t serial = 0;
    std::string name;
    Bytes frame;
    std::string stream_event;     // kCommand: collect these EVENTs into the reply
    bool part_of_stream = false;  // kRegister/kUnregister added by streamed_command
    bool sent = false;
    CommandCallback on_reply;
    RegisterCallback on_confirm;
    std::vector<Message> stream;
  };

  Status<CommandError> enqueue(Op op, const Packet& packet);
  void pump();
  Status<SessionFailure> handle(Packet packet);
  Status<SessionFailure> fail(SessionFailure::Kind kind, std::string detail);

  std::deque<Op> ops_;
  Bytes out_;
  FrameReader reader_;
  EventHandler event_handler_;
  SessionStats stats_;
  uint64_t next_serial_ = 1;
  bool connected_ = false;
};

}  // namespace l2tpvpn::vici
