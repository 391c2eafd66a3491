// The exception types weft throws: bad configuration, misuse of the API, and I/O
// failures. Every message names what was wrong and the offending value.
#pragma once

#include <weft/detail/export.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

namespace weft {

// A configuration key had a value outside its range or could not be parsed.
// what() reads like: WEFT_WORKERS="lots": expected an integer in 1..1024
class WEFT_API config_error : public std::invalid_argument {
public:
    config_error(std::string key, std::string value, const std::string& expected);

    const std::string& key() const noexcept { return key_; }
    const std::string& value() const noexcept { return value_; }

private:
    std::string key_;
    std::string value_;
};

// The API was used in a way it does not allow, e.g. block_on from a worker thread
// or awaiting a task twice.
class WEFT_API usage_error : public std::logic_error {
public:
    explicit usage_error(const std::string& what) : std::logic_error(what) {}
};

// Raised at the await point of a task that was cancelled (by timeout(), when_any,
// a task_group or join_handle::cancel()), when it awaits a timer, an I/O
// operation, a sync primitive or yield().
class WEFT_API cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "weft::cancelled: the task was cancelled"; }
};

// channel::send on a closed channel (including a send that was waiting for room
// when the channel was closed: its value was not delivered).
class WEFT_API channel_closed : public std::logic_error {
public:
    channel_closed() : std::logic_error("weft::channel_closed: send on a closed channel") {}
};

// A system call failed; what() names the call and the address or path.
class WEFT_API io_error : public std::system_error {
public:
    io_error(int err, const std::string& what)
        : std::system_error(err, std::generic_category(), what) {}
};

}  // namespace weft
