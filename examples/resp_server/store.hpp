// The key-value store behind examples/resp_server: string keys and values with
// optional expiry, split into shards with a lock each, so workers serving
// different keys do not contend. Expired keys vanish lazily on access, and an
// active sweep (sweep_expired) removes those nobody touches.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace resp {

using millis = std::int64_t;  // steady-clock milliseconds

inline millis now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Lets the maps look keys up by string_view without building a std::string.
// Deliberately not noexcept: libstdc++ then stores each node's hash, as it does
// for std::hash<std::string>, so walking a bucket and rehashing compare stored
// hashes instead of hashing every key they pass (perf under redis-benchmark
// -r 100000: std::_Hash_bytes went from 2.5% to 0.9% of the server's time).
struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct entry {
    std::string value;
    millis expires_at = 0;  // 0: never
    bool expired(millis now) const { return expires_at != 0 && expires_at <= now; }
    // Reads the clock only for a key that has a deadline.
    bool expired_now() const { return expires_at != 0 && expires_at <= now_ms(); }
};

class store {
public:
    static constexpr std::size_t k_shards = 64;

    using map_type = std::unordered_map<std::string, entry, key_hash, std::equal_to<>>;

    struct shard {
        std::mutex mutex;
        map_type map;
    };

    // Runs `f(map, it)` under the lock of the shard that holds `key`, where `it`
    // is the key's entry or map.end(): one lookup serves the command. An expired
    // entry is removed first, so `f` never sees one.
    template <class F>
    decltype(auto) with_key(std::string_view key, F&& f) {
        shard& s = shard_of(key);
        std::lock_guard lock(s.mutex);
        auto it = s.map.find(key);
        if (it != s.map.end() && it->second.expired_now()) {
            s.map.erase(it);
            it = s.map.end();
        }
        return f(s.map, it);
    }

    // Locks the shards of all `keys` at once (in shard order, so two multi-key
    // calls cannot deadlock), drops their expired entries, and runs
    // `f(map_of)`, where map_of(key) is the locked map that holds `key`.
    void with_keys(const std::vector<std::string_view>& keys,
                   const std::function<void(const std::function<map_type&(std::string_view)>&)>& f);

    std::size_t size();  // live keys (expired ones not yet swept count until swept)
    void clear();
    // Keys matching a glob pattern (KEYS).
    std::vector<std::string> keys(std::string_view pattern);
    // One SCAN step: keys of shards from `cursor` on, up to about `count`; the
    // next cursor (0 when done).
    std::uint64_t scan(std::uint64_t cursor, std::size_t count, std::string_view pattern,
                       std::vector<std::string>& out);
    // One step of the active expiry: visits about `visit_budget` buckets and
    // entries (more while many of them have expired), removes the expired ones,
    // and returns how many it removed. Successive calls cycle through the store.
    std::size_t sweep_expired(std::size_t visit_budget);
    std::size_t keys_with_expiry();

private:
    shard& shard_of(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % k_shards]; }
    static void drop_if_expired(shard& s, std::string_view key);

    std::array<shard, k_shards> shards_;
    std::size_t sweep_shard_ = 0;   // where the next sweep starts: a shard
    std::size_t sweep_bucket_ = 0;  // and a bucket in it
    std::mutex sweep_mutex_;
};

// Redis's glob matching (KEYS, SCAN MATCH): * ? [abc] [^a] [a-z] and \ escapes.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace resp
