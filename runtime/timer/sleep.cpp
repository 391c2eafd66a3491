// sleep_until and timeout's deadline: the two users of the timing wheel. A sleep
// registers in its task's cancellation scope, so a cancelled task leaves its
// sleep at once with weft::cancelled.
#include "../scheduler/scheduler.hpp"
#include "wheel.hpp"

#include <weft/errors.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>

#include <cassert>
#include <chrono>

namespace weft {

namespace detail {

namespace {

std::int64_t to_ns(std::chrono::steady_clock::time_point tp) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
}

// The leaf a sleeping task suspends on. Exactly one of the wheel (fire) and a
// canceller (on_cancel) resumes it: whichever takes the entry off the wheel.
class sleep_awaiter : public cancellable {
public:
    explicit sleep_awaiter(std::chrono::steady_clock::time_point deadline) : deadline_(deadline) {}

    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;

    // A frame destroyed while it sleeps (shutdown): leave the wheel and the scope.
    // The wheel's worker has stopped by then (or unlinked everything), so the
    // unlocked read of linked_ races with nobody.
    ~sleep_awaiter() {
        if (entry_.linked_ && wheel_ != nullptr) wheel_->remove(entry_);
        cancel_scope::remove(*this);
    }

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        reactor& r = current_reactor("weft::sleep_until");
        cancel_scope* scope = scope_of(h);
        if (scope != nullptr && scope->cancelled()) {
            cancelled_ = true;
            return false;
        }
        if (deadline_ <= std::chrono::steady_clock::now()) return false;
        waiter_ = h;
        wheel_ = &r.timers();
        runtime_id_ = tls_worker->runtime_id_;
        entry_.deadline_ns_ = to_ns(deadline_);
        entry_.fire_ = &fire;
        entry_.context_ = this;
        cancel_ = &on_cancel;
        // Registered before the wheel can fire it: the canceller must find it.
        if (scope != nullptr && !scope->add(*this)) {
            cancelled_ = true;
            return false;
        }
        if (!wheel_->insert(entry_)) {
            // A canceller came between add() and insert(): its on_cancel found
            // nothing to take off the wheel and left the resuming to us.
            cancelled_ = true;
            return false;
        }
        return true;
    }

    void await_resume() {
        cancel_scope::remove(*this);
        if (cancelled_) throw cancelled{};
    }

private:
    // On the wheel's worker: the deadline passed.
    static void fire(timer_entry& e) noexcept {
        schedule_woken(*tls_worker, static_cast<sleep_awaiter*>(e.context_)->waiter_);
    }

    // Any thread, under the scope's lock.
    static void on_cancel(cancellable& c) noexcept {
        auto& self = static_cast<sleep_awaiter&>(c);
        // acquire: pairs with the wheel's release when it was done with the
        // entry. Fired (the wheel resumed it), or forgotten at its worker's stop:
        // the wheel may be gone (a canceller that outlived the runtime).
        if (self.entry_.hold_.load(std::memory_order_acquire) == timer_entry::hold::released) return;
        // False: it fired (the wheel resumes it), or await_suspend has not
        // inserted it yet (the insert fails and the sleep ends cancelled).
        if (!self.wheel_->remove(self.entry_)) return;
        self.cancelled_ = true;
        resume_task_of(self.runtime_id_, self.waiter_);
    }

    const std::chrono::steady_clock::time_point deadline_;
    timer_entry entry_;
    timer_wheel* wheel_ = nullptr;
    std::uint64_t runtime_id_ = 0;
    std::coroutine_handle<> waiter_ = nullptr;
    bool cancelled_ = false;
};

}  // namespace

struct deadline_canceller::state {
    timer_entry entry;
    timer_wheel* wheel = nullptr;
    cancel_scope* scope = nullptr;
    bool disarmed = false;
    // Written by fire() on the wheel's worker before it releases the entry
    // (entry.hold_, release); read after seeing that (acquire).
    bool fired = false;

    static void fire(timer_entry& e) noexcept {
        state& s = *static_cast<state*>(e.context_);
        s.fired = true;
        s.scope->cancel();
    }
};

deadline_canceller::deadline_canceller(std::chrono::steady_clock::time_point deadline, cancel_scope& scope)
    : state_(std::make_unique<state>()) {
    state_->wheel = &current_reactor("weft::timeout").timers();
    state_->scope = &scope;
    state_->entry.deadline_ns_ = to_ns(deadline);
    state_->entry.fire_ = &state::fire;
    state_->entry.context_ = state_.get();
    // A fresh entry: nothing can have withdrawn it.
    [[maybe_unused]] const bool inserted = state_->wheel->insert(state_->entry);
    assert(inserted);
}

deadline_canceller::~deadline_canceller() { disarm(); }

bool deadline_canceller::disarm() noexcept {
    if (!state_ || state_->disarmed) return state_ && state_->fired;
    state_->disarmed = true;
    // acquire: pairs with the wheel's release when it was done with the entry
    // (fired, or forgotten at the worker's stop); we then see `fired`. The
    // wheel may be freed already: a timeout frame destroyed through a
    // join_handle dropped after the runtime, its deadline fired or not.
    if (state_->entry.hold_.load(std::memory_order_acquire) == timer_entry::hold::released) return state_->fired;
    if (!state_->wheel->remove(state_->entry)) {
        // Either it fired (fired is set) or the wheel's worker stopped and forgot
        // it (fired stays false).
        timer_wheel::wait_until_fired(state_->entry);
    }
    return state_->fired;
}

}  // namespace detail

task<void> sleep_until(std::chrono::steady_clock::time_point deadline) {
    co_await detail::sleep_awaiter(deadline);
}

}  // namespace weft
