// What /proc says about other processes: the pids, a process's name (comm), its argv and its environment. Used to
// find what an earlier, killed l2tpvpnd left running (pppds, its embedded charon) and a system strongSwan.
//
// Every process may exit while we look: a vanished process reads as empty (no pid, "" or no entries), never as an
// error and never as an exception (common/os/small_file).
//
// Thread-safety: functions without shared state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace l2tpvpn::os {

// The numeric entries of `proc_root` (default /proc): every process visible to us, in directory order.
// An unreadable directory gives an empty list.
std::vector<pid_t> list_pids(const std::string& proc_root = "/proc");

// /proc/PID/comm without its trailing newline (the kernel's 15-byte process name); "" if the process is gone.
std::string comm_of(pid_t pid);

// /proc/PID/cmdline split at NUL bytes: the argv it was exec'd with (a process may rewrite it); empty if the
// process is gone or is a kernel thread.
std::vector<std::string> cmdline_of(pid_t pid);

// /proc/PID/environ split at NUL bytes ("NAME=value" entries as exec'd); empty if the process is gone or not
// ours to read (root reads all).
std::vector<std::string> environ_of(pid_t pid);

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. Two processes that share a
// pid one after the other never share it, so (pid, start time) names one process (common/os/process_ref).
// nullopt if the process is gone.
std::optional<uint64_t> start_time_of(pid_t pid);
// The same from the text of a stat file. The second field (comm, in parentheses) may hold spaces and ')', so the
// fields are counted from its last ')'. nullopt when the text is not a stat line. Pure.
std::optional<uint64_t> parse_stat_start_time(std::string_view stat);

// Splits NUL-separated text: "a\0b\0" -> {"a", "b"}, "a\0\0b" -> {"a", "", "b"}, "" -> {}. Pure.
std::vector<std::string> split_nul(std::string_view text);

}  // namespace l2tpvpn::os
