// See deep_destroy.hpp.
#include "deep_destroy.hpp"

#include <pthread.h>

#include <cstddef>

namespace weft::detail {

namespace {

constexpr std::size_t k_deep_stack_bytes = std::size_t{1} << 30;

struct deep_call {
    void (*fn)(void*);
    void* arg;
};

void* run_deep_call(void* p) {
    auto* call = static_cast<deep_call*>(p);
    call->fn(call->arg);
    return nullptr;
}

}  // namespace

void run_on_deep_stack(void (*fn)(void*), void* arg) noexcept {
    deep_call call{fn, arg};
    pthread_attr_t attr;
    bool ran = false;
    if (pthread_attr_init(&attr) == 0) {
        pthread_t thread;
        if (pthread_attr_setstacksize(&attr, k_deep_stack_bytes) == 0 &&
            pthread_create(&thread, &attr, run_deep_call, &call) == 0) {
            pthread_join(thread, nullptr);
            ran = true;
        }
        pthread_attr_destroy(&attr);
    }
    // No thread (no address space or thread left): the caller's stack, which
    // holds any chain short enough for it.
    if (!ran) fn(arg);
}

void destroy_frame_deep(std::coroutine_handle<> frame) noexcept {
    if (frame.done()) {
        frame.destroy();
        return;
    }
    run_on_deep_stack([](void* address) { std::coroutine_handle<>::from_address(address).destroy(); },
                      frame.address());
}

}  // namespace weft::detail
