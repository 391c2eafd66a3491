// cancel_scope: the lock-protected lists of pending operations and child scopes
// that cancellation walks. Lock order: a scope before its children, and a scope
// before whatever an operation's cancel_ locks (a timer wheel, an fd's waiters,
// a worker's inbox, or, for a join_handle await, the awaited task's root scope);
// nothing takes a scope's lock while holding one of the former.
#include <weft/detail/cancel.hpp>

#include <mutex>

namespace weft::detail {

cancel_scope::cancel_scope(cancel_scope* parent) : parent_(parent) {
    if (parent_ == nullptr) return;
    std::lock_guard lock(parent_->mutex_);
    next_sibling_ = parent_->first_child_;
    if (next_sibling_ != nullptr) next_sibling_->prev_sibling_ = this;
    parent_->first_child_ = this;
    // relaxed: read under the parent's lock, which cancel() holds when it sets it.
    if (parent_->cancelled_.load(std::memory_order_relaxed)) cancelled_.store(true, std::memory_order_release);
}

cancel_scope::~cancel_scope() {
    {
        std::lock_guard lock(mutex_);
        for (cancellable* op = first_op_; op != nullptr; op = op->next_) op->scope_ = nullptr;
        for (cancel_scope* c = first_child_; c != nullptr; c = c->next_sibling_) c->parent_ = nullptr;
    }
    if (parent_ != nullptr) parent_->unlink_child(*this);
}

void cancel_scope::unlink_child(cancel_scope& child) noexcept {
    std::lock_guard lock(mutex_);
    if (child.prev_sibling_ != nullptr)
        child.prev_sibling_->next_sibling_ = child.next_sibling_;
    else
        first_child_ = child.next_sibling_;
    if (child.next_sibling_ != nullptr) child.next_sibling_->prev_sibling_ = child.prev_sibling_;
}

void cancel_scope::cancel() noexcept {
    // A scope already cancelled has nothing left to do, and its lock may be held
    // right now by this very thread, further up a walk that came back round:
    // tasks awaiting each other's join handles in a cycle
    // (join_handle::awaiter::pass_on_cancel). Every scope a canceller holds is
    // marked first thing, so no walk waits on a lock whose holder waits in
    // turn. seq_cst, with the store below: two cancellers entering a cycle at
    // once each mark a scope, then read the other's mark (a store then a load
    // of another location); in the single total order at least one of them
    // sees the other's mark, returns, and the other can finish.
    if (cancelled_.load(std::memory_order_seq_cst)) return;
    std::lock_guard lock(mutex_);
    if (cancelled_.load(std::memory_order_relaxed)) return;  // relaxed: we hold the lock
    // seq_cst: see above; also the release that pairs with cancelled()'s acquire.
    cancelled_.store(true, std::memory_order_seq_cst);
    // Operations stay registered until their tasks resume and remove them, so
    // each is cancelled once and stays alive while we hold the lock.
    for (cancellable* op = first_op_; op != nullptr; op = op->next_) op->cancel_(*op);
    for (cancel_scope* c = first_child_; c != nullptr; c = c->next_sibling_) c->cancel();
}

void cancel_scope::seal() noexcept {
    // release: pairs with add()'s acquire, which then also sees a cancel() made
    // before the seal (through the join_handle, by the thread that detaches it
    // or one ordered before it).
    sealed_.store(true, std::memory_order_release);
}

bool cancel_scope::add(cancellable& op) noexcept {
    // acquire: pairs with seal()'s release. A stale false only registers an
    // operation that nothing will cancel, as before the seal.
    if (sealed_.load(std::memory_order_acquire)) {
        // relaxed: a cancel() before the seal is ordered by the acquire above;
        // none can come after it. op.scope_ stays null: remove() returns at once.
        return !cancelled_.load(std::memory_order_relaxed);
    }
    std::lock_guard lock(mutex_);
    if (cancelled_.load(std::memory_order_relaxed)) return false;  // relaxed: we hold the lock
    op.scope_ = this;
    op.prev_ = nullptr;
    op.next_ = first_op_;
    if (first_op_ != nullptr) first_op_->prev_ = &op;
    first_op_ = &op;
    return true;
}

void cancel_scope::remove(cancellable& op) noexcept {
    cancel_scope* s = op.scope_;
    if (s == nullptr) return;
    std::lock_guard lock(s->mutex_);
    if (op.prev_ != nullptr)
        op.prev_->next_ = op.next_;
    else
        s->first_op_ = op.next_;
    if (op.next_ != nullptr) op.next_->prev_ = op.prev_;
    op.scope_ = nullptr;
    op.prev_ = op.next_ = nullptr;
}

}  // namespace weft::detail
