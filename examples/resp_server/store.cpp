// The sharded store (store.hpp): multi-key locking, KEYS/SCAN walks, the expiry
// sweep, and Redis's glob matcher.
#include "store.hpp"

#include <algorithm>

namespace resp {

void store::drop_if_expired(shard& s, std::string_view key) {
    auto it = s.map.find(key);
    if (it != s.map.end() && it->second.expired_now()) s.map.erase(it);
}

void store::with_keys(const std::vector<std::string_view>& keys,
                      const std::function<void(const std::function<map_type&(std::string_view)>&)>& f) {
    std::vector<std::size_t> idx;
    idx.reserve(keys.size());
    for (std::string_view k : keys) idx.push_back(static_cast<std::size_t>(&shard_of(k) - shards_.data()));
    std::sort(idx.begin(), idx.end());
    idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
    for (std::size_t i : idx) shards_[i].mutex.lock();
    for (std::string_view k : keys) drop_if_expired(shard_of(k), k);
    try {
        f([this](std::string_view k) -> map_type& { return shard_of(k).map; });
    } catch (...) {
        for (std::size_t i : idx) shards_[i].mutex.unlock();
        throw;
    }
    for (std::size_t i : idx) shards_[i].mutex.unlock();
}

std::size_t store::size() {
    std::size_t n = 0;
    for (shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.map.size();
    }
    return n;
}

void store::clear() {
    for (shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        s.map.clear();
    }
}

std::vector<std::string> store::keys(std::string_view pattern) {
    std::vector<std::string> out;
    const millis now = now_ms();
    for (shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        for (const auto& [k, e] : s.map)
            if (!e.expired(now) && glob_match(pattern, k)) out.push_back(k);
    }
    return out;
}

std::uint64_t store::scan(std::uint64_t cursor, std::size_t count, std::string_view pattern,
                          std::vector<std::string>& out) {
    // The cursor is a shard index: every key present for the whole scan is
    // returned (once per shard visit), as SCAN promises.
    const millis now = now_ms();
    std::size_t visited = 0;
    while (cursor < k_shards) {
        shard& s = shards_[cursor];
        {
            std::lock_guard lock(s.mutex);
            for (const auto& [k, e] : s.map) {
                ++visited;
                if (!e.expired(now) && glob_match(pattern, k)) out.push_back(k);
            }
        }
        ++cursor;
        if (visited >= count) break;
    }
    return cursor >= k_shards ? 0 : cursor;
}

std::size_t store::sweep_expired(std::size_t visit_budget) {
    // Walks the shards bucket by bucket from where the last sweep stopped, so one
    // call costs about `visit_budget` buckets and entries whatever the store's
    // size (Redis samples its keys the same way). While at least a quarter of
    // what it visits has expired, it keeps going, up to ten budgets: a burst of
    // expiries is cleared quickly, and a store without any costs one budget per
    // call. A rehash between calls only moves the cursor: lazy expiry on access
    // keeps correctness, the sweep only reclaims memory.
    std::lock_guard sweep(sweep_mutex_);
    const millis now = now_ms();
    std::size_t removed = 0;
    std::size_t visited = 0;
    std::size_t round_visited = 0;
    std::size_t round_removed = 0;
    std::vector<std::string> expired;  // a bucket's, erased after walking it
    for (std::size_t shards_seen = 0; shards_seen <= k_shards;) {
        if (round_visited >= visit_budget) {
            if (round_removed * 4 < round_visited || visited >= 10 * visit_budget) break;
            round_visited = round_removed = 0;
        }
        shard& s = shards_[sweep_shard_];
        {
            std::lock_guard lock(s.mutex);
            for (; sweep_bucket_ < s.map.bucket_count() && round_visited < visit_budget; ++sweep_bucket_) {
                // An empty bucket counts as a visit too: after a FLUSHALL the
                // table keeps its buckets, and walking them is not free.
                ++visited;
                ++round_visited;
                for (auto it = s.map.begin(sweep_bucket_); it != s.map.end(sweep_bucket_); ++it) {
                    ++visited;
                    ++round_visited;
                    if (it->second.expired(now)) expired.push_back(it->first);
                }
                for (const std::string& k : expired) s.map.erase(k);
                removed += expired.size();
                round_removed += expired.size();
                expired.clear();
            }
            if (sweep_bucket_ < s.map.bucket_count()) continue;  // budget spent inside this shard
        }
        sweep_bucket_ = 0;
        sweep_shard_ = (sweep_shard_ + 1) % k_shards;
        ++shards_seen;
    }
    return removed;
}

std::size_t store::keys_with_expiry() {
    std::size_t n = 0;
    for (shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        for (const auto& kv : s.map) n += kv.second.expires_at != 0;
    }
    return n;
}

bool glob_match(std::string_view p, std::string_view t) {
    std::size_t pi = 0, ti = 0;
    std::size_t star_p = std::string_view::npos, star_t = 0;
    while (ti < t.size()) {
        bool advanced = false;
        if (pi < p.size()) {
            const char c = p[pi];
            if (c == '*') {
                star_p = pi++;
                star_t = ti;
                continue;
            }
            if (c == '?') {
                ++pi;
                ++ti;
                advanced = true;
            } else if (c == '[') {
                std::size_t j = pi + 1;
                const bool negate = j < p.size() && p[j] == '^';
                if (negate) ++j;
                bool matched = false;
                while (j < p.size() && p[j] != ']') {
                    if (p[j] == '\\' && j + 1 < p.size()) {
                        matched |= p[j + 1] == t[ti];
                        j += 2;
                    } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
                        char lo = p[j], hi = p[j + 2];
                        if (lo > hi) std::swap(lo, hi);
                        matched |= t[ti] >= lo && t[ti] <= hi;
                        j += 3;
                    } else {
                        matched |= p[j] == t[ti];
                        ++j;
                    }
                }
                if (matched != negate) {
                    pi = j < p.size() ? j + 1 : j;
                    ++ti;
                    advanced = true;
                }
            } else {
                char want = c;
                std::size_t step = 1;
                if (c == '\\' && pi + 1 < p.size()) {
                    want = p[pi + 1];
                    step = 2;
                }
                if (want == t[ti]) {
                    pi += step;
                    ++ti;
                    advanced = true;
                }
            }
        }
        if (advanced) continue;
        if (star_p == std::string_view::npos) return false;
        pi = star_p + 1;
        ti = ++star_t;
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

}  // namespace resp
