// Writes the seed corpora of the L2TP fuzz targets (tests/fuzz/corpus/l2tp_message, .../l2tp_endpoint) with the
// project's own encoder. Run after changing the codec: build/tests/fuzz/gen_l2tp_corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "server/l2tp/header.hpp"
#include "server/l2tp/message.hpp"

using namespace l2tpvpn;
using namespace l2tpvpn::l2tp;

namespace {
void write(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}
// Endpoint target framing: [op][u16 len][bytes].
void frame(Bytes& out, uint8_t op, const Bytes& dg) {
  out.push_back(op);
  out.push_back(static_cast<uint8_t>(dg.size() >> 8));
  out.push_back(static_cast<uint8_t>(dg.size()));
  out.insert(out.end(), dg.begin(), dg.end());
}
}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  auto msg_dir = root / "l2tp_message", ep_dir = root / "l2tp_endpoint";
  std::filesystem::create_directories(msg_dir);
  std::filesystem::create_directories(ep_dir);

  Message sccrq;
  sccrq.type = MessageType::kSccrq;
  sccrq.protocol_version = 0x0100;
  sccrq.host_name = "fuzz-lac";
  sccrq.framing_capabilities = 3;
  sccrq.assigned_tunnel_id = 0x1111;
  sccrq.receive_window_size = 4;
  sccrq.tie_breaker = 0x1122334455667788ULL;
  Message sccrq_chal = sccrq;
  sccrq_chal.challenge = Bytes(16, 0x42);
  Message scccn;
  scccn.type = MessageType::kScccn;
  Message icrq;
  icrq.type = MessageType::kIcrq;
  icrq.assigned_session_id = 0x2222;
  icrq.call_serial_number = 1;
  icrq.calling_number = "12345";
  Message iccn;
  iccn.type = MessageType::kIccn;
  iccn.tx_connect_speed = 1000000;
  iccn.framing_type = 1;
  iccn.sequencing_required = true;
  Message cdn;
  cdn.type = MessageType::kCdn;
  cdn.assigned_session_id = 0x2222;
  cdn.result_code = ResultCode{3, 0, "bye"};
  cdn.ppp_disconnect_cause = PppDisconnectCause{1, 0xc021, 1, "lcp"};
  Message stop;
  stop.type = MessageType::kStopccn;
  stop.assigned_tunnel_id = 0x1111;
  stop.result_code = ResultCode{1, std::nullopt, ""};
  Message hello;
  hello.type = MessageType::kHello;
  Message wen;
  wen.type = MessageType::kWen;
  wen.call_errors = CallErrors{1, 2, 3, 4, 5, 6};
  Message sli;
  sli.type = MessageType::kSli;
  sli.accm = Accm{0xffffffff, 0};

  std::string secret = "fuzz-secret";
  EncodeOptions hidden{as_bytes(secret), Bytes(16, 9), {AvpType::kAssignedSessionId, AvpType::kCallSerialNumber,
                                                        AvpType::kCallingNumber, AvpType::kResultCode}};
  int n = 0;
  for (const Message* m : {&sccrq, &sccrq_chal, &scccn, &icrq, &iccn, &cdn, &stop, &hello, &wen, &sli}) {
    write(msg_dir / ("plain-" + std::to_string(n)), encode_control(0x3333, 0, 0, 0, encode_message(*m)));
    write(msg_dir / ("hidden-" + std::to_string(n)), encode_control(0x3333, 0, 0, 0, encode_message(*m, hidden)));
    ++n;
  }
  write(msg_dir / "data", encode_data(1, 2, Bytes{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, true, true, 1, 2));

  // A LAC's side of a full handshake, as the LNS would see it (the LNS's IDs are unknown to a static corpus, so
  // later messages are addressed by guess; the fuzzer mutates them).
  Bytes flow;
  frame(flow, 0, encode_control(0, 0, 0, 0, encode_message(sccrq)));
  frame(flow, 3, encode_control(0x0001, 0, 1, 1, encode_message(scccn)));
  frame(flow, 0, encode_control(0x0001, 0, 2, 1, encode_message(icrq)));
  frame(flow, 0, encode_control(0x0001, 0x0001, 3, 2, encode_message(iccn)));
  frame(flow, 41, encode_control(0x0001, 0x0001, 4, 3, encode_message(cdn)));
  frame(flow, 0, encode_control(0x0001, 0, 5, 3, encode_message(stop)));
  write(ep_dir / "handshake", flow);
  Bytes one;
  frame(one, 0, encode_control(0, 0, 0, 0, encode_message(sccrq_chal)));
  write(ep_dir / "sccrq-challenge", one);
  std::printf("corpus written under %s\n", root.c_str());
  return 0;
}
