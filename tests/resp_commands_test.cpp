// The commands of examples/resp_server, run against a store without sockets:
// every command, its options, and Redis's error replies.
#include "../examples/resp_server/commands.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

namespace {

struct session {
    resp::store db;
    resp::server_info info;
    resp::client_state client;

    // Runs one command given as words; gives its raw RESP reply.
    std::string run(std::vector<std::string> words) {
        resp::command cmd;
        cmd.owned = std::move(words);
        for (const std::string& w : cmd.owned) cmd.args.emplace_back(w);
        std::string out;
        resp::execute(db, info, client, cmd, out);
        return out;
    }
};

const std::string ok = "+OK\r\n";
const std::string nil = "$-1\r\n";
// Built with append: GCC 12's -Wrestrict misfires on chains of string operator+.
std::string bulk(const std::string& s) {
    std::string r = "$";
    r.append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
    return r;
}
std::string integer(long long v) {
    std::string r = ":";
    r.append(std::to_string(v)).append("\r\n");
    return r;
}

// The number in an integer reply (":42\r\n"); fails the test for any other reply.
long long integer_value(const std::string& reply) {
    REQUIRE(reply.size() > 3);
    REQUIRE(reply.front() == ':');
    REQUIRE(reply.compare(reply.size() - 2, 2, "\r\n") == 0);
    return std::stoll(reply.substr(1, reply.size() - 3));
}

}  // namespace

TEST_CASE("resp commands: PING, ECHO, SELECT, CLIENT, COMMAND, QUIT", "[resp]") {
    session s;
    CHECK(s.run({"PING"}) == "+PONG\r\n");
    CHECK(s.run({"ping", "hi"}) == bulk("hi"));
    CHECK(s.run({"ECHO", "a b"}) == bulk("a b"));
    CHECK(s.run({"SELECT", "0"}) == ok);
    CHECK(s.run({"SELECT", "1"}) == "-ERR DB index is out of range\r\n");
    CHECK(s.run({"CLIENT", "GETNAME"}) == nil);
    CHECK(s.run({"CLIENT", "SETNAME", "bench"}) == ok);
    CHECK(s.run({"CLIENT", "GETNAME"}) == bulk("bench"));
    CHECK(s.run({"CLIENT", "SETNAME", "a b"}).rfind("-ERR Client names cannot contain spaces", 0) == 0);
    CHECK(s.run({"COMMAND", "DOCS"}) == "*0\r\n");
    CHECK_FALSE(s.client.quit);
    CHECK(s.run({"QUIT"}) == ok);
    CHECK(s.client.quit);
}

TEST_CASE("resp commands: unknown commands and wrong arity get Redis's errors", "[resp]") {
    session s;
    CHECK(s.run({"FOO", "x", "y"}) == "-ERR unknown command 'FOO', with args beginning with: 'x' 'y' \r\n");
    CHECK(s.run({"get"}) == "-ERR wrong number of arguments for 'get' command\r\n");
    CHECK(s.run({"SET", "k"}) == "-ERR wrong number of arguments for 'set' command\r\n");
    CHECK(s.run({"MSET", "a", "1", "b"}) == "-ERR wrong number of arguments for 'mset' command\r\n");
    CHECK(s.run({"PING", "a", "b"}) == "-ERR wrong number of arguments for 'ping' command\r\n");
}

TEST_CASE("resp commands: SET with EX, PX, NX, XX, GET; GET, GETSET, DEL, EXISTS", "[resp]") {
    session s;
    CHECK(s.run({"GET", "k"}) == nil);
    CHECK(s.run({"SET", "k", "v"}) == ok);
    CHECK(s.run({"GET", "k"}) == bulk("v"));
    CHECK(s.run({"SET", "k", "w", "NX"}) == nil);
    CHECK(s.run({"SET", "new", "w", "XX"}) == nil);
    CHECK(s.run({"SET", "k", "w", "XX", "GET"}) == bulk("v"));
    CHECK(s.run({"SET", "k", "x", "nx", "xx"}) == "-ERR syntax error\r\n");
    CHECK(s.run({"SET", "k", "x", "EX", "0"}) == "-ERR invalid expire time in 'set' command\r\n");
    CHECK(s.run({"SET", "k", "x", "EX", "ten"}) == "-ERR value is not an integer or out of range\r\n");
    CHECK(s.run({"SET", "k", "x", "BOGUS"}) == "-ERR syntax error\r\n");
    CHECK(s.run({"SET", "t", "x", "EX", "100"}) == ok);
    CHECK(s.run({"TTL", "t"}) == integer(100));
    CHECK(s.run({"SET", "p", "x", "PX", "100000"}) == ok);
    // Milliseconds, counting down from 100,000 by however long this thread took
    // since the SET (a descheduled thread or valgrind can take several).
    const long long pttl = integer_value(s.run({"PTTL", "p"}));
    CHECK(pttl <= 100000);
    CHECK(pttl > 90000);
    CHECK(s.run({"GETSET", "k", "y"}) == bulk("w"));
    CHECK(s.run({"GETSET", "none", "z"}) == nil);
    CHECK(s.run({"EXISTS", "k", "none", "nope"}) == integer(2));
    CHECK(s.run({"DEL", "k", "none", "nope"}) == integer(2));
    CHECK(s.run({"EXISTS", "k"}) == integer(0));
}

TEST_CASE("resp commands: counters, APPEND, STRLEN, MGET, MSET", "[resp]") {
    session s;
    CHECK(s.run({"INCR", "n"}) == integer(1));
    CHECK(s.run({"INCRBY", "n", "41"}) == integer(42));
    CHECK(s.run({"DECR", "n"}) == integer(41));
    CHECK(s.run({"DECRBY", "n", "-9"}) == integer(50));
    CHECK(s.run({"INCRBY", "n", "x"}) == "-ERR value is not an integer or out of range\r\n");
    CHECK(s.run({"SET", "big", "9223372036854775807"}) == ok);
    CHECK(s.run({"INCR", "big"}) == "-ERR increment or decrement would overflow\r\n");
    CHECK(s.run({"SET", "s", "abc"}) == ok);
    CHECK(s.run({"INCR", "s"}) == "-ERR value is not an integer or out of range\r\n");
    CHECK(s.run({"APPEND", "s", "de"}) == integer(5));
    CHECK(s.run({"APPEND", "fresh", "x"}) == integer(1));
    CHECK(s.run({"STRLEN", "s"}) == integer(5));
    CHECK(s.run({"STRLEN", "none"}) == integer(0));
    CHECK(s.run({"MSET", "a", "1", "b", "2"}) == ok);
    CHECK(s.run({"MGET", "a", "none", "b"}) == std::string("*3\r\n").append(bulk("1")).append(nil).append(bulk("2")));
}

TEST_CASE("resp commands: EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, and expiry itself", "[resp]") {
    session s;
    CHECK(s.run({"TTL", "none"}) == integer(-2));
    CHECK(s.run({"SET", "k", "v"}) == ok);
    CHECK(s.run({"TTL", "k"}) == integer(-1));
    CHECK(s.run({"EXPIRE", "none", "10"}) == integer(0));
    CHECK(s.run({"EXPIRE", "k", "10"}) == integer(1));
    CHECK(s.run({"TTL", "k"}) == integer(10));
    CHECK(s.run({"PERSIST", "k"}) == integer(1));
    CHECK(s.run({"PERSIST", "k"}) == integer(0));
    CHECK(s.run({"TTL", "k"}) == integer(-1));
    CHECK(s.run({"EXPIRE", "k", "x"}) == "-ERR value is not an integer or out of range\r\n");
    CHECK(s.run({"PEXPIRE", "k", "30"}) == integer(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // lower bound only: it must be gone by now
    CHECK(s.run({"GET", "k"}) == nil);
    CHECK(s.run({"PTTL", "k"}) == integer(-2));
    // The active sweep removes expired keys nobody reads.
    for (int i = 0; i < 100; ++i) s.run({"SET", std::string("e").append(std::to_string(i)), "v", "PX", "1"});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(s.db.sweep_expired(1'000'000) == 100);  // a budget that covers the whole store
    CHECK(s.run({"DBSIZE"}) == integer(0));
    // With a small budget, each sweep visits part of the store, and successive
    // sweeps reach every expired key without touching the live ones.
    for (int i = 0; i < 5000; ++i) s.run({"SET", std::string("live").append(std::to_string(i)), "v"});
    for (int i = 0; i < 100; ++i) s.run({"SET", std::string("e").append(std::to_string(i)), "v", "PX", "1"});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::size_t swept = 0;
    int sweeps = 0;
    while (swept < 100 && sweeps < 1000) {
        swept += s.db.sweep_expired(64);
        ++sweeps;
    }
    CHECK(swept == 100);
    CHECK(sweeps > 1);  // 64 entries a sweep cannot cover 5,100 keys at once
    CHECK(s.run({"DBSIZE"}) == integer(5000));
    CHECK(s.run({"FLUSHALL"}) == ok);
    CHECK(s.run({"SET", "gone", "v"}) == ok);
    CHECK(s.run({"EXPIRE", "gone", "-1"}) == integer(1));  // a past deadline deletes it
    CHECK(s.run({"EXISTS", "gone"}) == integer(0));
}

TEST_CASE("resp commands: DBSIZE, KEYS with globs, SCAN with MATCH and COUNT, FLUSHALL, INFO", "[resp]") {
    session s;
    for (const char* k : {"user:1", "user:2", "user:10", "order:1", "h?llo"}) CHECK(s.run({"SET", k, "v"}) == ok);
    CHECK(s.run({"DBSIZE"}) == integer(5));
    auto keys = [&](const std::string& pattern) {
        std::string r = s.run({"KEYS", pattern});
        return std::count(r.begin(), r.end(), '$');  // one bulk per key
    };
    CHECK(keys("*") == 5);
    CHECK(keys("user:?") == 2);
    CHECK(keys("user:[12]*") == 3);
    CHECK(keys("user:[^1]") == 1);
    CHECK(keys("h\\?llo") == 1);
    CHECK(keys("nothing*") == 0);
    // SCAN until the cursor comes back to 0: every key exactly once.
    std::string cursor = "0";
    int seen = 0;
    int rounds = 0;
    do {
        const std::string r = s.run({"SCAN", cursor, "MATCH", "user:*", "COUNT", "1"});
        // *2\r\n$N\r\n<cursor>\r\n*M\r\n...: the cursor is the first bulk.
        const std::size_t start = r.find("\r\n", r.find('$')) + 2;
        cursor = r.substr(start, r.find("\r\n", start) - start);
        seen += static_cast<int>(std::count(r.begin(), r.end(), '$')) - 1;
        ++rounds;
    } while (cursor != "0" && rounds < 1000);
    CHECK(cursor == "0");
    CHECK(seen == 3);
    CHECK(s.run({"SCAN", "x"}) == "-ERR invalid cursor\r\n");
    CHECK(s.run({"SCAN", "0", "COUNT", "0"}) == "-ERR syntax error\r\n");
    const std::string info = s.run({"INFO"});
    CHECK(info.find("# Server") != std::string::npos);
    CHECK(info.find("db0:keys=5,expires=0") != std::string::npos);
    CHECK(s.run({"INFO", "keyspace"}).find("# Server") == std::string::npos);
    CHECK(s.run({"FLUSHALL"}) == ok);
    CHECK(s.run({"DBSIZE"}) == integer(0));
}
