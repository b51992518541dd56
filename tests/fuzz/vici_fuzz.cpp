// Fuzzes the VICI decoders with bytes as charon's socket would deliver them:
//   1. the whole input as a byte stream through FrameReader (split at a point taken from the first byte, so
//      reassembly across reads is exercised) and every complete frame through decode_packet();
//   2. the input as one frame payload (decode_packet) and as one message (decode_message), with a re-encode
//      round trip for whatever decodes;
//   3. the stream into a connected vici::Session with a command outstanding (answers, events, errors).
// Nothing may crash, hang, or allocate more than one 512 KiB frame at a time.
//
// Seed corpus (tests/fuzz/corpus/vici/): frames of each packet type and the README's message example, written by
// the Python snippet in docs/vici.md ("Fuzzing corpus").
#include <cstddef>
#include <cstdint>

#include "ipsec/vici_packet.hpp"
#include "ipsec/vici_session.hpp"

using namespace l2tpvpn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);

  vici::FrameReader reader;
  const size_t split = size ? data[0] % (size + 1) : 0;
  if (reader.feed(input.subspan(0, split)) && reader.feed(input.subspan(split))) {
    while (auto frame = reader.pop()) (void)vici::decode_packet(*frame);
  }

  if (auto packet = vici::decode_packet(input)) {
    auto frame = vici::encode_frame(*packet);
    if (frame) {
      auto again = vici::decode_packet(ByteView(*frame).subspan(vici::kFrameHeaderSize));
      if (!again || !(*again == *packet)) __builtin_trap();  // a decoded packet must round-trip
    }
  }
  if (auto msg = vici::decode_message(input)) {
    auto enc = vici::encode_message(*msg);
    if (!enc || vici::decode_message(*enc).has_value() == false) __builtin_trap();
  }

  vici::Session session;
  session.on_connect();
  session.set_event_handler([](const std::string&, const vici::Message&) {});
  (void)session.streamed_command("list-sas", {}, "list-sa", [](auto) {});
  (void)session.command("version", {}, [](auto) {});
  (void)session.take_output();
  (void)session.on_bytes(input);
  session.on_disconnect();
  return 0;
}
