// A few threads for blocking calls that no reactor can wait on: regular files under
// the epoll backend (they are always "ready" to epoll). io_uring does not use it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft::detail {

class blocking_pool {
public:
    struct job {
        // Runs on a pool thread; must not throw. Then done_ runs there too.
        void (*run_)(job&) noexcept = nullptr;
        void (*done_)(job&) noexcept = nullptr;
    };

    blocking_pool(unsigned threads, const std::string& thread_name);
    ~blocking_pool() { stop(); }

    // Joins the threads after the running jobs finish; queued jobs never run
    // (their tasks' frames are destroyed by their owners at shutdown).
    void stop() noexcept;
    void submit(job& j);

private:
    void loop() noexcept;

    const unsigned threads_wanted_;
    const std::string thread_name_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<job*> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;  // started on the first submit
};

}  // namespace weft::detail
