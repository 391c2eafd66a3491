// Command execution for examples/resp_server (commands.hpp): one function per
// command, dispatched by upper-cased name. Arity follows Redis's command table
// (negative: at least that many).
#include "commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace resp {

namespace {

using args_t = std::vector<std::string_view>;

struct context {
    store& db;
    server_info& info;
    client_state& client;
    const args_t& a;
    std::string& out;
};

std::string upper(std::string_view s) {
    std::string u(s);
    for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return u;
}

bool equals_nocase(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y)); });
}

std::optional<std::int64_t> to_int(std::string_view s) {
    std::int64_t v = 0;
    if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0') || s[0] == '+') return std::nullopt;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

void not_integer(std::string& out) { put_error(out, "ERR value is not an integer or out of range"); }
void syntax_error(std::string& out) { put_error(out, "ERR syntax error"); }

// GET-like reply for a key.
void reply_value(std::string& out, const entry* e) {
    if (e == nullptr)
        put_null(out);
    else
        put_bulk(out, e->value);
}

void cmd_ping(context& c) {
    if (c.a.size() == 1)
        put_simple(c.out, "PONG");
    else
        put_bulk(c.out, c.a[1]);
}

void cmd_echo(context& c) { put_bulk(c.out, c.a[1]); }

void cmd_get(context& c) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        reply_value(c.out, it == m.end() ? nullptr : &it->second);
    });
}

void cmd_set(context& c) {
    bool nx = false, xx = false, get = false, keep_ttl = false;
    millis expires_at = 0;
    for (std::size_t i = 3; i < c.a.size(); ++i) {
        const std::string opt = upper(c.a[i]);
        if (opt == "NX" && !xx) {
            nx = true;
        } else if (opt == "XX" && !nx) {
            xx = true;
        } else if (opt == "GET") {
            get = true;
        } else if (opt == "KEEPTTL" && expires_at == 0) {
            keep_ttl = true;
        } else if ((opt == "EX" || opt == "PX" || opt == "EXAT" || opt == "PXAT") && expires_at == 0 && !keep_ttl &&
                   i + 1 < c.a.size()) {
            const auto v = to_int(c.a[++i]);
            if (!v) return not_integer(c.out);
            if (*v <= 0 || *v > std::numeric_limits<std::int64_t>::max() / 1000)
                return put_error(c.out, "ERR invalid expire time in 'set' command");
            if (opt == "EX") expires_at = now_ms() + *v * 1000;
            if (opt == "PX") expires_at = now_ms() + *v;
            // Absolute Unix times: converted through the time left from now.
            const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
            if (opt == "EXAT") expires_at = now_ms() + (*v * 1000 - unix_ms);
            if (opt == "PXAT") expires_at = now_ms() + (*v - unix_ms);
            if (expires_at == 0) expires_at = -1;  // already past: any non-zero past time
        } else {
            return syntax_error(c.out);
        }
    }
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        const bool exists = it != m.end();
        if (get) reply_value(c.out, exists ? &it->second : nullptr);
        if ((nx && exists) || (xx && !exists)) {
            if (!get) put_null(c.out);
            return;
        }
        if (exists) {
            it->second.value.assign(c.a[2]);
            if (!keep_ttl) it->second.expires_at = expires_at;
        } else {
            m.emplace(std::string(c.a[1]), entry{std::string(c.a[2]), expires_at});
        }
        if (!get) put_simple(c.out, "OK");
    });
}

void cmd_getset(context& c) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        if (it == m.end()) {
            put_null(c.out);
            m.emplace(std::string(c.a[1]), entry{std::string(c.a[2]), 0});
        } else {
            put_bulk(c.out, it->second.value);
            it->second.value.assign(c.a[2]);
            it->second.expires_at = 0;
        }
    });
}

void cmd_del_or_exists(context& c, bool del) {
    std::int64_t n = 0;
    for (std::size_t i = 1; i < c.a.size(); ++i)
        c.db.with_key(c.a[i], [&](store::map_type& m, store::map_type::iterator it) {
            if (it == m.end()) return;
            ++n;
            if (del) m.erase(it);
        });
    put_integer(c.out, n);
}

void incr_by(context& c, std::int64_t by) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        std::int64_t v = 0;
        if (it != m.end()) {
            const auto cur = to_int(it->second.value);
            if (!cur) return not_integer(c.out);
            v = *cur;
        }
        if ((by > 0 && v > std::numeric_limits<std::int64_t>::max() - by) ||
            (by < 0 && v < std::numeric_limits<std::int64_t>::min() - by))
            return put_error(c.out, "ERR increment or decrement would overflow");
        v += by;
        if (it == m.end())
            m.emplace(std::string(c.a[1]), entry{std::to_string(v), 0});
        else
            it->second.value = std::to_string(v);
        put_integer(c.out, v);
    });
}

void cmd_incrby(context& c, bool negate) {
    const auto by = to_int(c.a[2]);
    if (!by || (negate && *by == std::numeric_limits<std::int64_t>::min())) return not_integer(c.out);
    incr_by(c, negate ? -*by : *by);
}

void cmd_append(context& c) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        if (it == m.end()) it = m.emplace(std::string(c.a[1]), entry{}).first;
        it->second.value.append(c.a[2]);
        put_integer(c.out, static_cast<std::int64_t>(it->second.value.size()));
    });
}

void cmd_strlen(context& c) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        put_integer(c.out, it == m.end() ? 0 : static_cast<std::int64_t>(it->second.value.size()));
    });
}

void cmd_mget(context& c) {
    put_array_header(c.out, c.a.size() - 1);
    for (std::size_t i = 1; i < c.a.size(); ++i)
        c.db.with_key(c.a[i], [&](store::map_type& m, store::map_type::iterator it) {
            reply_value(c.out, it == m.end() ? nullptr : &it->second);
        });
}

void cmd_mset(context& c) {
    if (c.a.size() % 2 != 1) return put_error(c.out, "ERR wrong number of arguments for 'mset' command");
    std::vector<std::string_view> keys;
    for (std::size_t i = 1; i < c.a.size(); i += 2) keys.push_back(c.a[i]);
    c.db.with_keys(keys, [&](const std::function<store::map_type&(std::string_view)>& map_of) {
        for (std::size_t i = 1; i < c.a.size(); i += 2) {
            store::map_type& m = map_of(c.a[i]);
            auto it = m.find(c.a[i]);
            if (it == m.end())
                m.emplace(std::string(c.a[i]), entry{std::string(c.a[i + 1]), 0});
            else
                it->second = entry{std::string(c.a[i + 1]), 0};
        }
    });
    put_simple(c.out, "OK");
}

void cmd_expire(context& c, millis unit, const char* name) {
    const auto v = to_int(c.a[2]);
    if (!v) return not_integer(c.out);
    if (*v > std::numeric_limits<std::int64_t>::max() / unit || *v < std::numeric_limits<std::int64_t>::min() / unit)
        return put_error(c.out, std::string("ERR invalid expire time in '") + name + "' command");
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        if (it == m.end()) return put_integer(c.out, 0);
        if (*v <= 0)
            m.erase(it);  // a deadline already past deletes the key, as in Redis
        else
            it->second.expires_at = now_ms() + *v * unit;
        put_integer(c.out, 1);
    });
}

void cmd_ttl(context& c, millis unit) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        if (it == m.end()) return put_integer(c.out, -2);
        if (it->second.expires_at == 0) return put_integer(c.out, -1);
        const millis left = std::max<millis>(0, it->second.expires_at - now_ms());
        put_integer(c.out, (left + unit - 1) / unit);  // rounded up, as Redis does
    });
}

void cmd_persist(context& c) {
    c.db.with_key(c.a[1], [&](store::map_type& m, store::map_type::iterator it) {
        if (it == m.end() || it->second.expires_at == 0) return put_integer(c.out, 0);
        it->second.expires_at = 0;
        put_integer(c.out, 1);
    });
}

void put_string_array(std::string& out, const std::vector<std::string>& v) {
    put_array_header(out, v.size());
    for (const std::string& s : v) put_bulk(out, s);
}

void cmd_scan(context& c) {
    const auto cursor = to_int(c.a[1]);
    if (!cursor || *cursor < 0) return put_error(c.out, "ERR invalid cursor");
    std::string_view pattern = "*";
    std::int64_t count = 10;
    for (std::size_t i = 2; i < c.a.size(); i += 2) {
        if (i + 1 >= c.a.size()) return syntax_error(c.out);
        if (equals_nocase(c.a[i], "MATCH")) {
            pattern = c.a[i + 1];
        } else if (equals_nocase(c.a[i], "COUNT")) {
            const auto n = to_int(c.a[i + 1]);
            if (!n) return not_integer(c.out);
            if (*n < 1) return syntax_error(c.out);
            count = *n;
        } else {
            return syntax_error(c.out);
        }
    }
    std::vector<std::string> found;
    const std::uint64_t next =
        c.db.scan(static_cast<std::uint64_t>(*cursor), static_cast<std::size_t>(count), pattern, found);
    put_array_header(c.out, 2);
    put_bulk(c.out, std::to_string(next));
    put_string_array(c.out, found);
}

void cmd_info(context& c) {
    const bool all = c.a.size() == 1;
    auto wants = [&](std::string_view section) {
        if (all) return true;
        for (std::size_t i = 1; i < c.a.size(); ++i)
            if (equals_nocase(c.a[i], section) || equals_nocase(c.a[i], "all") || equals_nocase(c.a[i], "everything"))
                return true;
        return false;
    };
    std::string text;
    if (wants("server")) {
        text += "# Server\r\nredis_version:7.0.0\r\nweft_resp_server:1\r\nmultiplexing_api:weft\r\n";
        text += "process_id:" + std::to_string(::getpid()) + "\r\n";
        text += "tcp_port:" + std::to_string(c.info.port) + "\r\n";
        text += "uptime_in_seconds:" + std::to_string((now_ms() - c.info.started_ms) / 1000) + "\r\n";
        text += "workers:" + std::to_string(c.info.workers) + "\r\n\r\n";
    }
    if (wants("clients"))
        text += "# Clients\r\nconnected_clients:" + std::to_string(c.info.connections_now.load()) + "\r\n\r\n";
    if (wants("stats"))
        text += "# Stats\r\ntotal_connections_received:" + std::to_string(c.info.connections_total.load()) +
                "\r\ntotal_commands_processed:" + std::to_string(c.info.commands.load()) +
                "\r\nexpired_keys:" + std::to_string(c.info.expired_swept.load()) + "\r\n\r\n";
    if (wants("keyspace")) {
        text += "# Keyspace\r\n";
        if (const std::size_t n = c.db.size(); n != 0)
            text += "db0:keys=" + std::to_string(n) + ",expires=" + std::to_string(c.db.keys_with_expiry()) +
                    ",avg_ttl=0\r\n";
    }
    put_bulk(c.out, text);
}

void cmd_command(context& c) {
    if (c.a.size() >= 2 && equals_nocase(c.a[1], "COUNT")) return put_integer(c.out, 32);
    // redis-cli asks COMMAND DOCS for hints; an empty answer is enough for it.
    put_array_header(c.out, 0);
}

void cmd_client(context& c) {
    const std::string sub = upper(c.a[1]);
    if (sub == "SETNAME" && c.a.size() == 3) {
        if (std::any_of(c.a[2].begin(), c.a[2].end(), [](char ch) { return ch <= ' ' || ch > '~'; }))
            return put_error(c.out, "ERR Client names cannot contain spaces, newlines or special characters.");
        c.client.name.assign(c.a[2]);
        return put_simple(c.out, "OK");
    }
    if (sub == "GETNAME" && c.a.size() == 2) {
        if (c.client.name.empty()) return put_null(c.out);
        return put_bulk(c.out, c.client.name);
    }
    put_error(c.out, "ERR unknown subcommand '" + std::string(c.a[1]) + "'. Try CLIENT HELP.");
}

void cmd_select(context& c) {
    const auto db = to_int(c.a[1]);
    if (!db) return not_integer(c.out);
    if (*db != 0) return put_error(c.out, "ERR DB index is out of range");
    put_simple(c.out, "OK");
}

struct command_spec {
    int arity;  // as in Redis: n exactly, -n at least n (the name counts)
    void (*run)(context&);
};

const std::unordered_map<std::string, command_spec>& table() {
    static const std::unordered_map<std::string, command_spec> t = {
        {"PING", {-1, [](context& c) {
                      if (c.a.size() > 2) return put_error(c.out, "ERR wrong number of arguments for 'ping' command");
                      cmd_ping(c);
                  }}},
        {"ECHO", {2, cmd_echo}},
        {"GET", {2, cmd_get}},
        {"SET", {-3, cmd_set}},
        {"GETSET", {3, cmd_getset}},
        {"DEL", {-2, [](context& c) { cmd_del_or_exists(c, true); }}},
        {"EXISTS", {-2, [](context& c) { cmd_del_or_exists(c, false); }}},
        {"INCR", {2, [](context& c) { incr_by(c, 1); }}},
        {"DECR", {2, [](context& c) { incr_by(c, -1); }}},
        {"INCRBY", {3, [](context& c) { cmd_incrby(c, false); }}},
        {"DECRBY", {3, [](context& c) { cmd_incrby(c, true); }}},
        {"APPEND", {3, cmd_append}},
        {"STRLEN", {2, cmd_strlen}},
        {"MGET", {-2, cmd_mget}},
        {"MSET", {-3, cmd_mset}},
        {"EXPIRE", {3, [](context& c) { cmd_expire(c, 1000, "expire"); }}},
        {"PEXPIRE", {3, [](context& c) { cmd_expire(c, 1, "pexpire"); }}},
        {"TTL", {2, [](context& c) { cmd_ttl(c, 1000); }}},
        {"PTTL", {2, [](context& c) { cmd_ttl(c, 1); }}},
        {"PERSIST", {2, cmd_persist}},
        {"DBSIZE", {1, [](context& c) { put_integer(c.out, static_cast<std::int64_t>(c.db.size())); }}},
        {"FLUSHALL", {-1, [](context& c) {
                          c.db.clear();
                          put_simple(c.out, "OK");
                      }}},
        {"FLUSHDB", {-1, [](context& c) {
                         c.db.clear();
                         put_simple(c.out, "OK");
                     }}},
        {"KEYS", {2, [](context& c) { put_string_array(c.out, c.db.keys(c.a[1])); }}},
        {"SCAN", {-2, cmd_scan}},
        {"INFO", {-1, cmd_info}},
        {"COMMAND", {-1, cmd_command}},
        {"CLIENT", {-2, cmd_client}},
        {"SELECT", {2, cmd_select}},
        {"QUIT", {-1, [](context& c) {
                      c.client.quit = true;
                      put_simple(c.out, "OK");
                  }}},
    };
    return t;
}

}  // namespace

void execute(store& db, server_info& info, client_state& client, const command& cmd, std::string& out) {
    info.commands.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    const std::string name = upper(cmd.args[0]);
    const auto& t = table();
    const auto it = t.find(name);
    if (it == t.end()) {
        std::string msg = "ERR unknown command '";
        msg.append(cmd.args[0]);
        msg += "', with args beginning with: ";
        for (std::size_t i = 1; i < cmd.args.size() && i < 8; ++i) {
            msg += '\'';
            msg.append(cmd.args[i]);
            msg += "' ";
        }
        return put_error(out, msg);
    }
    const int arity = it->second.arity;
    const auto n = static_cast<int>(std::min<std::size_t>(cmd.args.size(), 1 << 30));
    if ((arity > 0 && n != arity) || (arity < 0 && n < -arity)) {
        std::string lower(cmd.args[0]);
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return put_error(out, "ERR wrong number of arguments for '" + lower + "' command");
    }
    context c{db, info, client, cmd.args, out};
    it->second.run(c);
}

}  // namespace resp
