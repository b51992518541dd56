// When to hand freed heap back to the kernel (malloc_trim).
//
// glibc keeps freed memory for reuse and returns it to the kernel only from the top of the heap, so after
// thousands of tunnels and sessions end, most of what they held stays with the daemon. That is right while the
// crowd may come back, and wasteful on a VPS once it has gone. The daemon samples what it holds (tunnels and
// sessions) every few seconds; after a fall of at least a quarter from the peak since the last trim, and of at
// least `min_drop` units (a handful of clients leaving is not worth a trim), it trims once and starts counting
// from there.
//
// Pure: fed samples, answers whether to trim now. Thread-safety: none needed (one owner).
#pragma once

#include <algorithm>
#include <cstddef>

namespace l2tpvpn {

class TrimPolicy {
 public:
  explicit TrimPolicy(size_t min_drop = 1000) : min_drop_(min_drop) {}

  // `held`: tunnels + sessions held now. True: trim now (the peak is then reset to `held`).
  bool sample(size_t held) {
    peak_ = std::max(peak_, held);
    if (peak_ - held < min_drop_ || held * 4 > peak_ * 3) return false;
    peak_ = held;
    return true;
  }
  size_t peak() const { return peak_; }

 private:
  size_t min_drop_;
  size_t peak_ = 0;
};

}  // namespace l2tpvpn
