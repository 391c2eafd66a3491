// weft::channel<T>: asyncio.Queue (bounded) and Go's channels for tasks. Any number
// of tasks send and receive; a full channel suspends senders (back-pressure), an
// empty one suspends receivers. close() ends it: receivers drain what is left and
// then get an empty optional; senders get channel_closed. Every value sent is
// received exactly once, and in the order the sends completed.
#pragma once

#include <weft/async_generator.hpp>
#include <weft/detail/wait_list.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace weft {

template <class T>
class channel {
public:
    class [[nodiscard]] send_awaiter : public detail::waiting_awaiter {
    public:
        send_awaiter(channel& ch, T value) : ch_(ch), value_(std::move(value)) {}

        bool await_ready() const noexcept { return false; }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            waiter_.slot_ = this;  // recv_now() takes value_, or sets failed_
            const bool suspended =
                detail::suspend_waiter(waiter_, h, ch_.guard_, ch_.senders_, "weft::channel::send",
                                       [this] { return ch_.send_now(value_, closed_, to_wake_); });
            if (suspended) return true;  // we may already be running elsewhere: touch nothing
            if (to_wake_ != nullptr) detail::wake(*to_wake_);  // a receiver we handed the value to
            return false;
        }
        void await_resume() {
            if (!finish() || closed_) throw channel_closed();
            if (failed_) std::rethrow_exception(failed_);
        }

    private:
        friend class channel;

        channel& ch_;
        T value_;
        // Set, while we wait, by a receiver whose move of value_ into the buffer
        // threw: the send fails with that exception (the receiver got its value).
        std::exception_ptr failed_;
        detail::sync_waiter* to_wake_ = nullptr;
        bool closed_ = false;
    };

    class [[nodiscard]] recv_awaiter : public detail::waiting_awaiter {
    public:
        explicit recv_awaiter(channel& ch) noexcept : ch_(ch) {}

        bool await_ready() const noexcept { return false; }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            waiter_.slot_ = &value_;
            const bool suspended =
                detail::suspend_waiter(waiter_, h, ch_.guard_, ch_.receivers_, "weft::channel::recv",
                                       [this] { return ch_.recv_now(value_, to_wake_); });
            if (suspended) return true;  // we may already be running elsewhere: touch nothing
            // Senders whose values we took (or failed to).
            if (to_wake_ != nullptr) detail::wake_all(to_wake_, detail::sync_waiter::outcome::granted);
            return false;
        }
        std::optional<T> await_resume() {
            finish();  // closed: value_ stays empty
            return std::move(value_);
        }

    private:
        channel& ch_;
        std::optional<T> value_;
        detail::sync_waiter* to_wake_ = nullptr;
    };

    // A channel holding at most `capacity` values (at least 1); usage_error for 0.
    explicit channel(std::size_t capacity) : capacity_(checked_capacity(capacity)), ring_(new slot[capacity_]) {}
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
    ~channel() {
        std::lock_guard lock(guard_);
        senders_.forget_all();
        receivers_.forget_all();
    }

    // co_await ch.send(v): waits for room, then v is in the channel (or already in
    // a receiver's hands). Throws channel_closed if the channel is or gets closed
    // first (v is then dropped), weft::cancelled if the task is cancelled while it
    // waits (v is not sent), or what T's move constructor throws when v fails to
    // move into the channel (v is not sent).
    send_awaiter send(T value) { return send_awaiter(*this, std::move(value)); }

    // co_await ch.recv(): the oldest value, waiting for one; an empty optional once
    // the channel is closed and drained. Throws weft::cancelled if the task is
    // cancelled while it waits (no value is taken).
    recv_awaiter recv() noexcept { return recv_awaiter(*this); }

    // Never wait: false (value untouched) when the channel is full; throws
    // channel_closed when it is closed.
    bool try_send(T& value) {
        bool closed = false;
        detail::sync_waiter* to_wake = nullptr;
        bool sent;
        {
            std::lock_guard lock(guard_);
            sent = send_now(value, closed, to_wake);
        }
        if (to_wake != nullptr) detail::wake(*to_wake);
        if (closed) throw channel_closed();
        return sent;
    }
    // Never waits: the oldest value, or empty when there is none right now.
    std::optional<T> try_recv() {
        std::optional<T> out;
        detail::sync_waiter* to_wake = nullptr;
        {
            std::lock_guard lock(guard_);
            if (size_ == 0) return out;
            recv_now(out, to_wake);
        }
        if (to_wake != nullptr) detail::wake_all(to_wake, detail::sync_waiter::outcome::granted);
        return out;
    }

    // No more sends: waiting senders get channel_closed; receivers get what is
    // buffered, then empty optionals. Idempotent; callable from any thread.
    void close() noexcept {
        detail::sync_waiter* senders = nullptr;
        detail::sync_waiter* receivers = nullptr;
        {
            std::lock_guard lock(guard_);
            if (closed_) return;
            closed_ = true;
            senders = senders_.take_all();
            receivers = receivers_.take_all();  // only when empty: none of them gets a value
        }
        detail::wake_all(senders, detail::sync_waiter::outcome::closed);
        detail::wake_all(receivers, detail::sync_waiter::outcome::closed);
    }

    bool is_closed() const {
        std::lock_guard lock(guard_);
        return closed_;
    }
    // Values buffered now (a snapshot).
    std::size_t size() const {
        std::lock_guard lock(guard_);
        return size_;
    }
    std::size_t capacity() const noexcept { return capacity_; }

    // The channel as an async range: yields every value received until the channel
    // is closed and drained. The channel must outlive the generator.
    async_generator<T> items() {
        while (std::optional<T> v = co_await recv()) co_yield std::move(*v);
    }

private:
    struct slot {
        std::optional<T> value;
    };

    static std::size_t checked_capacity(std::size_t n) {
        if (n == 0) throw usage_error("weft::channel: capacity 0: a channel needs a capacity of at least 1");
        return n;
    }

    // Under guard_. Closed: `closed` set, done. A waiting receiver (the buffer is
    // then empty): the value goes straight to it and it is returned in `to_wake`.
    // Room: buffered. Full: false (the caller queues).
    bool send_now(T& value, bool& closed, detail::sync_waiter*& to_wake) {
        if (closed_) {
            closed = true;
            return true;
        }
        if (detail::sync_waiter* r = receivers_.pop_front()) {
            try {
                static_cast<std::optional<T>*>(r->slot_)->emplace(std::move(value));
            } catch (...) {
                receivers_.push_front(*r);  // it keeps waiting; the send failed
                throw;
            }
            r->outcome_ = detail::sync_waiter::outcome::granted;
            to_wake = r;
            return true;
        }
        if (size_ == capacity_) return false;
        ring_[(head_ + size_) % capacity_].value.emplace(std::move(value));
        ++size_;
        return true;
    }

    // Under guard_. A buffered value moves to `out`; the first waiting sender (the
    // buffer was full) then moves its value into the freed place and is returned
    // in `to_wake`, a chain for wake_all(). Empty and closed: true with `out`
    // empty. Empty: false.
    bool recv_now(std::optional<T>& out, detail::sync_waiter*& to_wake) {
        if (size_ == 0) return closed_;
        std::optional<T>& front = ring_[head_].value;
        out.emplace(std::move(*front));
        front.reset();
        head_ = (head_ + 1) % capacity_;
        --size_;
        // The first waiting sender's value fills the freed place. If its move
        // throws, our value is taken already, so the receive succeeds; that send
        // fails with the move's exception and the next sender is asked. Every
        // sender unqueued here is woken, as a chain (wake_all).
        detail::sync_waiter** link = &to_wake;
        while (detail::sync_waiter* s = senders_.pop_front()) {
            auto* offer = static_cast<send_awaiter*>(s->slot_);
            *link = s;  // unqueued: its next_waiter_ is null
            link = &s->next_waiter_;
            try {
                ring_[(head_ + size_) % capacity_].value.emplace(std::move(offer->value_));
                ++size_;
                break;
            } catch (...) {
                offer->failed_ = std::current_exception();
            }
        }
        return true;
    }

    const std::size_t capacity_;
    mutable detail::spin_lock guard_;
    // Under guard_: a ring of capacity_ slots, size_ of them full from head_.
    std::unique_ptr<slot[]> ring_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    bool closed_ = false;
    detail::wait_list senders_;
    detail::wait_list receivers_;
};

}  // namespace weft
