#include "server/spawn_thread.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

namespace l2tpvpn {

namespace asio = boost::asio;

SpawnThread::SpawnThread(asio::io_context& io) : io_(io), shared_(std::make_shared<Shared>()) {
  // The worker inherits the mask of the thread that creates it: everything blocked, so no signal handler ever
  // runs on it (and none interrupts a start).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  worker_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

SpawnThread::~SpawnThread() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stop = true;
    shared_->queue.clear();
    ++shared_->generation;
  }
  shared_->wake.notify_all();
  worker_.join();
}

void SpawnThread::start(Job job, Done done) {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->queue.push_back(Request{std::move(job), std::move(done), shared_->generation});
  }
  shared_->wake.notify_one();
}

void SpawnThread::start(os::LaunchSpec spec, std::vector<UniqueFd> keep, Done done) {
  // std::function wants a copyable callable: the descriptors ride in a shared vector, closed with the job.
  auto fds = std::make_shared<std::vector<UniqueFd>>(std::move(keep));
  start([spec = std::move(spec), fds] { return os::spawn_process(spec); }, std::move(done));
}

std::vector<pid_t> SpawnThread::cancel() {
  std::unique_lock lock(shared_->mutex);
  shared_->queue.clear();
  shared_->idle.wait(lock, [&] { return !shared_->busy; });
  ++shared_->generation;
  return std::exchange(shared_->undelivered, {});
}

size_t SpawnThread::pending() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->queue.size() + (shared_->busy ? 1 : 0);
}

void SpawnThread::run() {
  const auto s = shared_;
  std::unique_lock lock(s->mutex);
  for (;;) {
    s->wake.wait(lock, [&] { return s->stop || !s->queue.empty(); });
    if (s->stop) return;
    Request r = std::move(s->queue.front());
    s->queue.pop_front();
    s->busy = true;
    // While the child starts, io.run() must not return for lack of work: the completion is still to come.
    auto work = asio::make_work_guard(io_);
    lock.unlock();
    auto result = r.job();
    r.job = nullptr;  // what it owns is closed: the child has its copies
    lock.lock();
    s->busy = false;
    if (r.generation == s->generation) {
      if (result) s->undelivered.push_back(*result);
      asio::post(io_, [s, generation = r.generation, done = std::move(r.done), result = std::move(result)]() mutable {
        {
          std::lock_guard g(s->mutex);
          if (generation != s->generation) return;  // cancelled: the pid went to cancel()'s caller
          if (result) {
            auto it = std::find(s->undelivered.begin(), s->undelivered.end(), *result);
            if (it != s->undelivered.end()) s->undelivered.erase(it);
          }
        }
        done(std::move(result));
      });
    }
    s->idle.notify_all();
  }
}

}  // namespace l2tpvpn
