// SpawnThread with real children (/bin/sh): outcomes come back on the event loop's thread, descriptors are handed
// over and closed, failures are reported, and cancel() returns exactly the children whose outcome was not
// delivered, never delivering it afterwards.
#include "server/spawn_thread.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

namespace l2tpvpn {
namespace {

using namespace std::chrono_literals;

os::LaunchSpec shell(const std::string& script) {
  os::LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return spec;
}

class SpawnThreadTest : public ::testing::Test {
 protected:
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_for(5ms);
    }
    return true;
  }
  boost::asio::io_context io_;
  SpawnThread spawner_{io_};
};

TEST_F(SpawnThreadTest, ThePidComesBackOnTheEventLoopsThread) {
  std::optional<Result<pid_t, os::LaunchError>> got;
  std::thread::id ran_on;
  spawner_.start(shell("exit 3"), {}, [&](Result<pid_t, os::LaunchError> r) {
    got = std::move(r);
    ran_on = std::this_thread::get_id();
  });
  EXPECT_FALSE(got) << "never from start() itself";
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  ASSERT_TRUE(*got) << got->error().to_string();
  auto r = os::wait_for(**got);
  EXPECT_EQ(r.status, (os::ExitStatus{true, 3, 0, false}));
  EXPECT_EQ(spawner_.pending(), 0u);
}

TEST_F(SpawnThreadTest, TheChildGetsTheDescriptorAndOursIsClosedAfterwards) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]);
  const int write_fd = p[1];
  auto spec = shell("echo started >&5");
  spec.fds.push_back({write_fd, 5});
  std::vector<UniqueFd> keep;
  keep.emplace_back(write_fd);
  std::optional<Result<pid_t, os::LaunchError>> got;
  spawner_.start(std::move(spec), std::move(keep), [&](Result<pid_t, os::LaunchError> r) { got = std::move(r); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_TRUE(*got);
  (void)os::wait_for(**got);
  EXPECT_EQ(fcntl(write_fd, F_GETFD), -1) << "our copy was closed once the child had its own";
  std::string text(64, '\0');
  ssize_t n = read(read_end.get(), text.data(), text.size());
  ASSERT_GT(n, 0);
  EXPECT_EQ(text.substr(0, static_cast<size_t>(n)), "started\n");
  EXPECT_EQ(read(read_end.get(), text.data(), text.size()), 0) << "EOF: no writer left anywhere";
}

TEST_F(SpawnThreadTest, AProgramThatCannotStartIsReported) {
  std::optional<Result<pid_t, os::LaunchError>> got;
  os::LaunchSpec spec;
  spec.argv = {"/nonexistent/pppd"};
  spawner_.start(std::move(spec), {}, [&](Result<pid_t, os::LaunchError> r) { got = std::move(r); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().operation, "posix_spawn");
  EXPECT_EQ(got->error().error, ENOENT);
}

TEST_F(SpawnThreadTest, StartsAreMadeInOrder) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 5; ++i)
    spawner_.start(shell("exit 0"), {}, [&](Result<pid_t, os::LaunchError> r) { pids.push_back(r.value()); });
  ASSERT_TRUE(run_until([&] { return pids.size() == 5; }));
  for (pid_t pid : pids) (void)os::wait_for(pid);
}

// Started but not delivered (the event loop has not run): cancel() hands the children over and their outcomes
// are never delivered, even though they were already posted.
TEST_F(SpawnThreadTest, CancelReturnsTheChildrenWhoseOutcomeWasNotDelivered) {
  int delivered = 0;
  for (int i = 0; i < 3; ++i) spawner_.start(shell("exit 0"), {}, [&](auto) { ++delivered; });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (spawner_.pending() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(spawner_.pending(), 0u);
  auto pids = spawner_.cancel();
  EXPECT_EQ(pids.size(), 3u);
  io_.restart();
  io_.run_for(50ms);
  EXPECT_EQ(delivered, 0);
  for (pid_t pid : pids) EXPECT_TRUE(os::wait_for(pid).status.exited) << "a child of ours";
  // Served as usual afterwards.
  std::optional<Result<pid_t, os::LaunchError>> got;
  spawner_.start(shell("exit 0"), {}, [&](Result<pid_t, os::LaunchError> r) { got = std::move(r); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_TRUE(*got);
  (void)os::wait_for(**got);
}

// Cancelled with requests still queued: those never start (their descriptors are closed) and only the ones that
// did start are returned; no outcome is delivered. Every child of this process is accounted for.
TEST_F(SpawnThreadTest, CancelDropsQueuedStartsAndClosesTheirDescriptors) {
  constexpr int kStarts = 40;
  std::vector<int> fds;
  int delivered = 0;
  for (int i = 0; i < kStarts; ++i) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    fds.push_back(p[1]);
    std::vector<UniqueFd> keep;
    keep.emplace_back(p[1]);
    spawner_.start(shell("exit 0"), std::move(keep), [&](auto) { ++delivered; });
  }
  auto pids = spawner_.cancel();
  EXPECT_LE(pids.size(), static_cast<size_t>(kStarts));
  for (int fd : fds) EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "fd " << fd << " closed: started or dropped";
  io_.restart();
  io_.run_for(50ms);
  EXPECT_EQ(delivered, 0);
  for (pid_t pid : pids) (void)os::wait_for(pid);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "no child that cancel() did not name";
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace l2tpvpn
