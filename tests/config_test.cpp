// Tests for weft::config: defaults, designated initializers, validate()'s range
// checks, and from_env()'s strict parsing of every WEFT_* knob.
#include <weft/config.hpp>
#include <weft/errors.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using weft_test::env_guard;

// Every variable from_env() reads; each test starts with all of them unset so a
// WEFT_* variable in the environment that runs the suite cannot change a result.
const std::vector<std::string> k_knob_variables = {
    "WEFT_WORKERS",     "WEFT_IO_BACKEND",  "WEFT_LOCAL_QUEUE_CAPACITY", "WEFT_GLOBAL_QUEUE_INTERVAL",
    "WEFT_SPIN_ROUNDS", "WEFT_PIN_WORKERS", "WEFT_THREAD_NAME", "WEFT_IO_RING_ENTRIES", "WEFT_IO_EVENT_BATCH",
    "WEFT_BLOCKING_THREADS", "WEFT_STEAL_FENCE",
};

// Unsets every knob variable for the guard's lifetime.
class clean_env {
public:
    clean_env() {
        for (const auto& name : k_knob_variables)
            guards_.emplace_back(std::make_unique<env_guard>(name, std::nullopt));
    }

private:
    std::vector<std::unique_ptr<env_guard>> guards_;
};

// from_env() with one variable set; the rest unset.
weft::config from_env_with(const std::string& name, const std::string& value) {
    clean_env clean;
    env_guard set{name, value};
    return weft::config::from_env();
}

// Asserts that from_env() with `name=value` throws a config_error that names the
// variable and its raw value.
void require_env_rejected(const std::string& name, const std::string& value) {
    INFO(name << "=\"" << value << "\"");
    try {
        from_env_with(name, value);
        FAIL("from_env() accepted it");
    } catch (const weft::config_error& e) {
        CHECK(e.key() == name);
        CHECK(e.value() == value);
        const std::string what = e.what();
        CHECK(what.find(name) != std::string::npos);
        CHECK(what.find("\"" + value + "\"") != std::string::npos);
    }
}

// Asserts that validate() throws a config_error naming the field and the value.
void require_invalid(const weft::config& c, const std::string& field, const std::string& value) {
    INFO(field << "=\"" << value << "\"");
    try {
        c.validate();
        FAIL("validate() accepted it");
    } catch (const weft::config_error& e) {
        CHECK(e.key() == field);
        CHECK(e.value() == value);
        CHECK(std::string(e.what()).rfind(field + "=\"" + value + "\": expected ", 0) == 0);
    }
}

}  // namespace

TEST_CASE("config_error's message names the key, quotes the value, and says what was expected") {
    const weft::config_error e{"WEFT_WORKERS", "lots", "expected an integer in 1..1024"};
    CHECK(std::string(e.what()) == "WEFT_WORKERS=\"lots\": expected an integer in 1..1024");
    CHECK(e.key() == "WEFT_WORKERS");
    CHECK(e.value() == "lots");
}

TEST_CASE("the default config is valid") {
    const weft::config c;
    CHECK_NOTHROW(c.validate());
    CHECK(c.workers >= 1);
    CHECK(c.workers <= 1024);
    CHECK(c.io_backend == "auto");
    CHECK(c.local_queue_capacity == weft::detail::k_default_local_queue_capacity);
    CHECK(c.global_queue_interval == 61);
    CHECK(c.spin_rounds == 32);
    CHECK_FALSE(c.pin_workers);
    CHECK(c.thread_name == "weft-wkr");
    CHECK(c.io_ring_entries == 256);
    CHECK(c.io_event_batch == 256);
    CHECK(c.blocking_threads == 2);
    CHECK(c.steal_fence == "auto");
}

TEST_CASE("from_env with no WEFT variables set returns the defaults") {
    clean_env clean;
    const weft::config c = weft::config::from_env();
    const weft::config d;
    CHECK(c.workers == d.workers);
    CHECK(c.io_backend == d.io_backend);
    CHECK(c.local_queue_capacity == d.local_queue_capacity);
    CHECK(c.global_queue_interval == d.global_queue_interval);
    CHECK(c.spin_rounds == d.spin_rounds);
    CHECK(c.pin_workers == d.pin_workers);
    CHECK(c.thread_name == d.thread_name);
    CHECK(c.steal_fence == d.steal_fence);
}

TEST_CASE("a designated initializer changes only the fields it names") {
    const weft::config c{.workers = 2, .pin_workers = true};
    CHECK(c.workers == 2);
    CHECK(c.pin_workers);
    CHECK(c.io_backend == "auto");
    CHECK(c.spin_rounds == 32);
    CHECK_NOTHROW(c.validate());
}

TEST_CASE("from_env rejects WEFT_WORKERS that is not an integer in 1..1024") {
    for (const char* bad : {"lots", "0", "1025", "5000", "", " 4", "4 ", "+4", "-4", "4x", "0x10", "4.0",
                            "18446744073709551616", "99999999999999999999999999"})
        require_env_rejected("WEFT_WORKERS", bad);
}

TEST_CASE("from_env's error for a bad WEFT_WORKERS reads as documented") {
    clean_env clean;
    SECTION("unparsable") {
        env_guard set{"WEFT_WORKERS", "lots"};
        REQUIRE_THROWS_WITH(weft::config::from_env(), "WEFT_WORKERS=\"lots\": expected an integer in 1..1024");
    }
    SECTION("out of range") {
        env_guard set{"WEFT_WORKERS", "0"};
        REQUIRE_THROWS_WITH(weft::config::from_env(), "WEFT_WORKERS=\"0\": expected an integer in 1..1024");
    }
}

TEST_CASE("from_env rejects WEFT_IO_BACKEND that is not auto, io_uring or epoll") {
    for (const char* bad : {"uring", "", "EPOLL", "epoll ", "io-uring", "kqueue"})
        require_env_rejected("WEFT_IO_BACKEND", bad);
}

TEST_CASE("from_env rejects WEFT_LOCAL_QUEUE_CAPACITY that is not a power of two in 2..1048576") {
    for (const char* bad : {"many", "", "0", "1", "3", "100", "2097152", "-256", "256k", "18446744073709551616"})
        require_env_rejected("WEFT_LOCAL_QUEUE_CAPACITY", bad);
}

TEST_CASE("from_env rejects WEFT_GLOBAL_QUEUE_INTERVAL that is not an integer in 1..1000000") {
    for (const char* bad : {"often", "", "0", "1000001", "4294967297", "61 "})
        require_env_rejected("WEFT_GLOBAL_QUEUE_INTERVAL", bad);
}

TEST_CASE("from_env rejects WEFT_SPIN_ROUNDS that is not an integer in 0..1000000") {
    for (const char* bad : {"few", "", "-1", "1000001", "4294967296", "3e2"})
        require_env_rejected("WEFT_SPIN_ROUNDS", bad);
}

TEST_CASE("from_env rejects WEFT_PIN_WORKERS that is not a boolean spelling") {
    for (const char* bad : {"maybe", "", "2", "y", "n", "tru", " on", "enabled"})
        require_env_rejected("WEFT_PIN_WORKERS", bad);
}

TEST_CASE("from_env rejects WEFT_THREAD_NAME that is empty or longer than 10 bytes") {
    for (const char* bad : {"", "weft-worker", "a-very-long-thread-name"})
        require_env_rejected("WEFT_THREAD_NAME", bad);
}

TEST_CASE("from_env reads a good value for every knob") {
    CHECK(from_env_with("WEFT_WORKERS", "1").workers == 1);
    CHECK(from_env_with("WEFT_WORKERS", "1024").workers == 1024);
    CHECK(from_env_with("WEFT_WORKERS", "007").workers == 7);
    CHECK(from_env_with("WEFT_IO_BACKEND", "auto").io_backend == "auto");
    CHECK(from_env_with("WEFT_IO_BACKEND", "io_uring").io_backend == "io_uring");
    CHECK(from_env_with("WEFT_IO_BACKEND", "epoll").io_backend == "epoll");
    CHECK(from_env_with("WEFT_STEAL_FENCE", "auto").steal_fence == "auto");
    CHECK(from_env_with("WEFT_STEAL_FENCE", "membarrier").steal_fence == "membarrier");
    CHECK(from_env_with("WEFT_STEAL_FENCE", "seq_cst").steal_fence == "seq_cst");
    CHECK(from_env_with("WEFT_LOCAL_QUEUE_CAPACITY", "2").local_queue_capacity == 2);
    CHECK(from_env_with("WEFT_LOCAL_QUEUE_CAPACITY", "4").local_queue_capacity == 4);
    CHECK(from_env_with("WEFT_LOCAL_QUEUE_CAPACITY", "1048576").local_queue_capacity == 1048576);
    CHECK(from_env_with("WEFT_GLOBAL_QUEUE_INTERVAL", "1").global_queue_interval == 1);
    CHECK(from_env_with("WEFT_GLOBAL_QUEUE_INTERVAL", "1000000").global_queue_interval == 1000000);
    CHECK(from_env_with("WEFT_SPIN_ROUNDS", "0").spin_rounds == 0);
    CHECK(from_env_with("WEFT_SPIN_ROUNDS", "1000000").spin_rounds == 1000000);
    CHECK(from_env_with("WEFT_THREAD_NAME", "w").thread_name == "w");
    CHECK(from_env_with("WEFT_THREAD_NAME", "ten-chars!").thread_name == "ten-chars!");
}

TEST_CASE("from_env reads every spelling of a boolean in any case") {
    for (const char* yes : {"1", "true", "TRUE", "True", "yes", "YES", "on", "On"}) {
        INFO("WEFT_PIN_WORKERS=" << yes);
        CHECK(from_env_with("WEFT_PIN_WORKERS", yes).pin_workers);
    }
    for (const char* no : {"0", "false", "FALSE", "no", "No", "off", "OFF"}) {
        INFO("WEFT_PIN_WORKERS=" << no);
        CHECK_FALSE(from_env_with("WEFT_PIN_WORKERS", no).pin_workers);
    }
}

TEST_CASE("from_env reads several variables together and ignores unknown WEFT variables") {
    clean_env clean;
    env_guard workers{"WEFT_WORKERS", "3"};
    env_guard backend{"WEFT_IO_BACKEND", "epoll"};
    env_guard pin{"WEFT_PIN_WORKERS", "yes"};
    env_guard unknown{"WEFT_NOT_A_KNOB", "whatever"};
    const weft::config c = weft::config::from_env();
    CHECK(c.workers == 3);
    CHECK(c.io_backend == "epoll");
    CHECK(c.pin_workers);
    CHECK(c.spin_rounds == 32);
}

TEST_CASE("validate rejects workers outside 1..1024") {
    require_invalid(weft::config{.workers = 0}, "workers", "0");
    require_invalid(weft::config{.workers = 1025}, "workers", "1025");
    require_invalid(weft::config{.workers = 5000}, "workers", "5000");
    CHECK_THROWS_WITH(weft::config{.workers = 0}.validate(), "workers=\"0\": expected an integer in 1..1024");
    CHECK_NOTHROW(weft::config{.workers = 1}.validate());
    CHECK_NOTHROW(weft::config{.workers = 1024}.validate());
}

TEST_CASE("validate accepts auto, io_uring and epoll and rejects any other io_backend") {
    for (const char* good : {"auto", "io_uring", "epoll"}) {
        INFO("io_backend=" << good);
        CHECK_NOTHROW(weft::config{.io_backend = good}.validate());
    }
    require_invalid(weft::config{.io_backend = "uring"}, "io_backend", "uring");
    require_invalid(weft::config{.io_backend = ""}, "io_backend", "");
    CHECK_THROWS_WITH(weft::config{.io_backend = "uring"}.validate(),
                      "io_backend=\"uring\": expected one of auto, io_uring, epoll");
}

TEST_CASE("validate accepts auto, membarrier and seq_cst and rejects any other steal_fence") {
    for (const char* good : {"auto", "membarrier", "seq_cst"}) {
        INFO("steal_fence=" << good);
        CHECK_NOTHROW(weft::config{.steal_fence = good}.validate());
    }
    require_invalid(weft::config{.steal_fence = "mfence"}, "steal_fence", "mfence");
    CHECK_THROWS_WITH(weft::config{.steal_fence = "SEQ_CST"}.validate(),
                      "steal_fence=\"SEQ_CST\": expected one of auto, membarrier, seq_cst");
    require_env_rejected("WEFT_STEAL_FENCE", "");
}

TEST_CASE("validate rejects a local_queue_capacity that is not a power of two in 2..1048576") {
    require_invalid(weft::config{.local_queue_capacity = 100}, "local_queue_capacity", "100");
    require_invalid(weft::config{.local_queue_capacity = 0}, "local_queue_capacity", "0");
    require_invalid(weft::config{.local_queue_capacity = 1}, "local_queue_capacity", "1");
    require_invalid(weft::config{.local_queue_capacity = 2097152}, "local_queue_capacity", "2097152");
    CHECK_THROWS_WITH(weft::config{.local_queue_capacity = 100}.validate(),
                      "local_queue_capacity=\"100\": expected a power of two in 2..1048576");
    CHECK_NOTHROW(weft::config{.local_queue_capacity = 2}.validate());
    CHECK_NOTHROW(weft::config{.local_queue_capacity = 4}.validate());
    CHECK_NOTHROW(weft::config{.local_queue_capacity = 1048576}.validate());
}

TEST_CASE("validate rejects a global_queue_interval outside 1..1000000") {
    require_invalid(weft::config{.global_queue_interval = 0}, "global_queue_interval", "0");
    require_invalid(weft::config{.global_queue_interval = 1000001}, "global_queue_interval", "1000001");
    CHECK_NOTHROW(weft::config{.global_queue_interval = 1}.validate());
}

TEST_CASE("validate rejects spin_rounds above 1000000 and accepts zero") {
    require_invalid(weft::config{.spin_rounds = 1000001}, "spin_rounds", "1000001");
    CHECK_NOTHROW(weft::config{.spin_rounds = 0}.validate());
}

TEST_CASE("validate rejects a thread_name that is empty or longer than 10 bytes") {
    require_invalid(weft::config{.thread_name = ""}, "thread_name", "");
    require_invalid(weft::config{.thread_name = "weft-worker"}, "thread_name", "weft-worker");
    CHECK_NOTHROW(weft::config{.thread_name = "w"}.validate());
    CHECK_NOTHROW(weft::config{.thread_name = "0123456789"}.validate());
    // Bytes, not characters: each é is two.
    CHECK_NOTHROW(weft::config{.thread_name = "\u00e9\u00e9\u00e9\u00e9\u00e9"}.validate());
    require_invalid(weft::config{.thread_name = "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}, "thread_name",
                    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");
}

TEST_CASE("the reactor knobs are read from the environment and range-checked") {
    CHECK(from_env_with("WEFT_IO_RING_ENTRIES", "1024").io_ring_entries == 1024);
    CHECK(from_env_with("WEFT_IO_EVENT_BATCH", "1").io_event_batch == 1);
    CHECK(from_env_with("WEFT_BLOCKING_THREADS", "8").blocking_threads == 8);
    for (const char* bad : {"0", "4", "100", "65536", "x", ""}) require_env_rejected("WEFT_IO_RING_ENTRIES", bad);
    for (const char* bad : {"0", "65537", "-1", "many"}) require_env_rejected("WEFT_IO_EVENT_BATCH", bad);
    for (const char* bad : {"0", "1025", "two"}) require_env_rejected("WEFT_BLOCKING_THREADS", bad);
    require_invalid(weft::config{.io_ring_entries = 100}, "io_ring_entries", "100");
    require_invalid(weft::config{.io_event_batch = 0}, "io_event_batch", "0");
    require_invalid(weft::config{.blocking_threads = 0}, "blocking_threads", "0");
    CHECK_NOTHROW(weft::config{.io_ring_entries = 8, .io_event_batch = 65536, .blocking_threads = 1024}.validate());
}
