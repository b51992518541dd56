// Time as the pure L2TP core sees it: values passed in by the driver, never read from a clock here
// (ngtcp2's rule: the library does not ask the OS for a timestamp).
#pragma once

#include <chrono>

namespace l2tpvpn::l2tp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

}  // namespace l2tpvpn::l2tp
