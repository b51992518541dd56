// Fuzz target: the L2TP header and control-message decoders (with and without a secret for hidden AVPs), and
// re-encoding what decodes: a decoded message must encode and decode to the same value.
#include <cstdint>
#include <cstdlib>

#include "server/l2tp/header.hpp"
#include "server/l2tp/message.hpp"

using namespace l2tpvpn;
using namespace l2tpvpn::l2tp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  auto packet = decode_packet(in);
  ByteView avps = packet ? packet->payload : in;
  static const std::string kSecret = "fuzz-secret";
  for (ByteView secret : {ByteView{}, as_bytes(kSecret)}) {
    auto m = decode_message(avps, DecodeOptions{secret});
    if (!m) continue;
    Message copy = *m;
    copy.ignored.clear();  // never encoded
    Bytes again = encode_message(copy);
    auto round = decode_message(again);
    if (!round || !(*round == copy)) std::abort();
  }
  return 0;
}
