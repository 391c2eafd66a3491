// Handing an lvalue join_handle to an API that takes its awaitable over must not
// compile, and the compiler must say what to write instead. check.sh compiles
// this file once as it is (every call hands over with std::move, and must
// compile) and once per case n with -DWEFT_MISUSE=n (that call passes the
// handle as an lvalue, and must fail with as_task's message).
#include <weft/weft.hpp>

#include <chrono>
#include <utility>

#ifndef WEFT_MISUSE
#define WEFT_MISUSE 0
#endif

namespace {

weft::task<int> one() { co_return 1; }

weft::task<void> all_cases() {
    auto a = weft::spawn(one());
#if WEFT_MISUSE == 1
    (void)co_await weft::timeout(std::chrono::seconds(1), a);
#else
    (void)co_await weft::timeout(std::chrono::seconds(1), std::move(a));
#endif
    auto b = weft::spawn(one());
#if WEFT_MISUSE == 2
    auto c = weft::spawn(b);
#else
    auto c = weft::spawn(std::move(b));
#endif
    (void)co_await std::move(c);
    auto d = weft::spawn(one());
#if WEFT_MISUSE == 3
    (void)co_await weft::when_all(one(), d);
#else
    (void)co_await weft::when_all(one(), std::move(d));
#endif
    auto e = weft::spawn(one());
#if WEFT_MISUSE == 4
    (void)co_await weft::when_any(one(), e);
#else
    (void)co_await weft::when_any(one(), std::move(e));
#endif
    auto f = weft::spawn(one());
    weft::task_group g;
#if WEFT_MISUSE == 5
    g.spawn(f);
#else
    g.spawn(std::move(f));
#endif
    co_await g.join();
}

}  // namespace

int main() {
    weft::runtime rt;
    rt.block_on(all_cases());
    auto h = rt.spawn(one());
#if WEFT_MISUSE == 6
    return rt.block_on(h) == 1 ? 0 : 1;
#else
    return rt.block_on(std::move(h)) == 1 ? 0 : 1;
#endif
}
