// The table of config knobs (field, environment variable, accepted values) and the
// strict parsers behind config::from_env() and config::validate(); also defines
// config_error, whose message format every knob shares.
#include <weft/config.hpp>
#include <weft/errors.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

namespace weft {

config_error::config_error(std::string key, std::string value, const std::string& expected)
    : std::invalid_argument(key + "=\"" + value + "\": " + expected),
      key_(std::move(key)),
      value_(std::move(value)) {}

namespace {

constexpr unsigned k_max_workers = 1024;

// Each rule parses an environment variable's text into the field's type
// (nullopt: not of that form at all), says whether a value is in range, and
// describes what it wants for the message. Parsing and range are separate because
// validate() checks fields that were never text.

// Decimal digits and nothing else: no sign, no whitespace, no "0x", and a value
// that overflows 64 bits is rejected rather than wrapped.
std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::uint64_t value = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (err != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

struct integer_in {
    std::uint64_t lo;
    std::uint64_t hi;

    std::optional<std::uint64_t> parse(std::string_view text) const { return parse_decimal(text); }
    bool accepts(std::uint64_t v) const { return lo <= v && v <= hi; }
    std::string expected() const {
        return "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    }
};

struct power_of_two_in {
    std::uint64_t lo;
    std::uint64_t hi;

    std::optional<std::uint64_t> parse(std::string_view text) const { return parse_decimal(text); }
    bool accepts(std::uint64_t v) const { return lo <= v && v <= hi && (v & (v - 1)) == 0; }
    std::string expected() const {
        return "expected a power of two in " + std::to_string(lo) + ".." + std::to_string(hi);
    }
};

struct one_of {
    std::span<const std::string_view> choices;

    std::optional<std::string> parse(std::string_view text) const { return std::string(text); }
    bool accepts(const std::string& v) const {
        return std::find(choices.begin(), choices.end(), v) != choices.end();
    }
    std::string expected() const {
        std::string out = "expected one of ";
        for (std::size_t i = 0; i < choices.size(); ++i) {
            if (i != 0) out += ", ";
            out += choices[i];
        }
        return out;
    }
};

struct length_in {
    std::size_t lo;
    std::size_t hi;

    std::optional<std::string> parse(std::string_view text) const { return std::string(text); }
    bool accepts(const std::string& v) const { return lo <= v.size() && v.size() <= hi; }
    std::string expected() const {
        return "expected " + std::to_string(lo) + ".." + std::to_string(hi) + " bytes";
    }
};

struct boolean {
    std::optional<bool> parse(std::string_view text) const {
        auto lower = std::string(text);
        for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
        if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
        return std::nullopt;
    }
    bool accepts(bool) const { return true; }
    std::string expected() const { return "expected a boolean: 1, 0, true, false, yes, no, on or off"; }
};

constexpr std::array<std::string_view, 3> k_io_backends = {"auto", "io_uring", "epoll"};
constexpr std::array<std::string_view, 3> k_steal_fences = {"auto", "membarrier", "seq_cst"};

// Every knob, once. Adding a knob is a field in config.hpp, a row here and a row
// in docs/config.md. Config is `config` or `const config`, so from_env() can write
// through `field` and validate() can only read it.
template <class Config, class Visit>
void for_each_knob(Config& c, Visit&& visit) {
    //    field as written in C++   environment variable           field                     accepted values
    visit("workers",                "WEFT_WORKERS",                c.workers,                integer_in{1, k_max_workers});
    visit("io_backend",             "WEFT_IO_BACKEND",             c.io_backend,             one_of{k_io_backends});
    visit("local_queue_capacity",   "WEFT_LOCAL_QUEUE_CAPACITY",   c.local_queue_capacity,   power_of_two_in{2, 1048576});
    visit("global_queue_interval",  "WEFT_GLOBAL_QUEUE_INTERVAL",  c.global_queue_interval,  integer_in{1, 1000000});
    visit("spin_rounds",            "WEFT_SPIN_ROUNDS",            c.spin_rounds,            integer_in{0, 1000000});
    visit("pin_workers",            "WEFT_PIN_WORKERS",            c.pin_workers,            boolean{});
    visit("thread_name",            "WEFT_THREAD_NAME",            c.thread_name,            length_in{1, 10});
    visit("io_ring_entries",        "WEFT_IO_RING_ENTRIES",        c.io_ring_entries,        power_of_two_in{8, 32768});
    visit("io_event_batch",         "WEFT_IO_EVENT_BATCH",         c.io_event_batch,         integer_in{1, 65536});
    visit("blocking_threads",       "WEFT_BLOCKING_THREADS",       c.blocking_threads,       integer_in{1, k_max_workers});
    visit("steal_fence",            "WEFT_STEAL_FENCE",            c.steal_fence,            one_of{k_steal_fences});
}

// How validate() prints a field in its message.
template <class T>
std::string show(const T& value) {
    if constexpr (std::is_same_v<T, bool>)
        return value ? "true" : "false";
    else if constexpr (std::is_same_v<T, std::string>)
        return value;
    else
        return std::to_string(value);
}

}  // namespace

namespace detail {

unsigned default_workers() noexcept {
    return std::clamp(std::thread::hardware_concurrency(), 1u, k_max_workers);
}

}  // namespace detail

config config::from_env() {
    config c;
    for_each_knob(c, [](const char*, const char* env, auto& field, const auto& rule) {
        const char* raw = std::getenv(env);
        if (raw == nullptr) return;
        // A variable set to "" is a value like any other, and no rule accepts it as
        // a number; treating it as unset would hide a typo in a launch script.
        auto parsed = rule.parse(raw);
        if (!parsed || !rule.accepts(*parsed)) throw config_error(env, raw, rule.expected());
        // In range, so the narrowing to unsigned cannot lose anything.
        field = static_cast<std::remove_cvref_t<decltype(field)>>(*parsed);
    });
    c.validate();
    return c;
}

void config::validate() const {
    for_each_knob(*this, [](const char* name, const char*, const auto& field, const auto& rule) {
        if (!rule.accepts(field)) throw config_error(name, show(field), rule.expected());
    });
}

}  // namespace weft
