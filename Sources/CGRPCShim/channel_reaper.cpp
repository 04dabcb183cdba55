// Drops grpc::Channel references on a thread of its own, a moment after their last user let go.
//
// Why: a call object can be freed from inside a grpc callback (on grpc's "nexting" thread);
// if it held the channel's last reference, the channel's destructor would shut down the
// callback completion queue from that queue's own thread while grpc is still finishing the
// callback — which trips grpc's reference counts. Retired channels are released here instead.
#include "shim_internal.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace vfg {
namespace {

struct Reaper {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<grpc::Channel>>> queue;

  Reaper() {
    std::thread([this] { Loop(); }).detach();
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      if (queue.empty()) {
        cv.wait(lock);
        continue;
      }
      auto due = queue.front().first;
      if (std::chrono::steady_clock::now() < due) {
        cv.wait_until(lock, due);
        continue;
      }
      auto channel = std::move(queue.front().second);
      queue.pop_front();
      lock.unlock();
      channel.reset();  // may run the channel's destructor, here, off grpc's threads
      lock.lock();
    }
  }
};

Reaper &TheReaper() {
  static Reaper *reaper = new Reaper();  // never destroyed: its thread runs until exit
  return *reaper;
}

}  // namespace

void RetireChannel(std::shared_ptr<grpc::Channel> channel) {
  if (!channel) return;
  Reaper &r = TheReaper();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.queue.emplace_back(std::chrono::steady_clock::now() + std::chrono::milliseconds(200), std::move(channel));
  }
  r.cv.notify_one();
}

}  // namespace vfg
