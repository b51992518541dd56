// Starting processes (pppd) off the event loop.
//
// posix_spawn blocks its caller until the child has exec'd: glibc clones with CLONE_VM|CLONE_VFORK, so the
// calling thread waits while the child copies the daemon's descriptor table (which grows with the sessions), runs
// its file actions and exec's. That is about a millisecond per pppd; on the event loop a burst of session setups
// would hold every datagram behind it (acks included). Here one worker thread runs the start jobs, in the order
// they were asked for, and each outcome is posted back to the io_context, where `done` runs.
//
// A job is a function that starts one process (os::spawn_process) and returns its pid. It runs on the worker and
// is destroyed there, so whatever it owns (the descriptors the child gets) is closed once the child has its
// copies; a job that makes descriptors (a socketpair) makes them when it runs, so a long queue holds none.
// spawn_process gives the child an exact descriptor table (it closes everything above its targets), so
// descriptors the event loop opens meanwhile without O_CLOEXEC never leak into a child.
//
// Cancelling (shutdown): cancel() drops the jobs not yet run (their `done` never runs, what they own is closed), waits for the start in progress, and returns the pids of children started whose `done` has not run
// yet: from then on those `done`s are dropped too, and the caller owns the children (signal and reap them).
// Requests made after cancel() are served as usual.
//
// Thread-safety: start() and cancel() from the io_context's thread only; `done` runs there. The worker blocks
// every signal, so signal handlers (asio's signal_set) run on the event loop's thread.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/os/spawn.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace l2tpvpn {

class SpawnThread {
 public:
  using Job = std::function<Result<pid_t, os::LaunchError>()>;
  using Done = std::function<void(Result<pid_t, os::LaunchError>)>;

  explicit SpawnThread(boost::asio::io_context& io);
  // Cancels (the children of undelivered starts are left alone: whoever destroys us without cancel() first has
  // no use for them) and joins the worker.
  ~SpawnThread();
  SpawnThread(const SpawnThread&) = delete;
  SpawnThread& operator=(const SpawnThread&) = delete;

  void start(Job job, Done done);
  // The usual job: spawn_process(spec), the `keep` descriptors (those spec names) closed after it.
  void start(os::LaunchSpec spec, std::vector<UniqueFd> keep, Done done);
  std::vector<pid_t> cancel();

  // Requests queued or being started (for status and tests).
  size_t pending() const;

 private:
  struct Request {
    Job job;
    Done done;
    uint64_t generation = 0;
  };
  // What the worker and the posted completions share; the completions hold it, so one that runs after we are gone
  // finds the generation changed and drops itself.
  struct Shared {
    std::mutex mutex;
    std::condition_variable wake;  // the worker: a request or stop
    std::condition_variable idle;  // cancel(): the start in progress has ended
    std::deque<Request> queue;
    uint64_t generation = 0;  // bumped by cancel(): completions of an older generation are dropped
    std::vector<pid_t> undelivered;  // started, completion posted and not yet run
    bool busy = false;               // the worker is inside spawn_process
    bool stop = false;
  };
  void run();

  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  std::thread worker_;  // last: started once the rest exists
};

}  // namespace l2tpvpn
