// The RESP2 parser and encoders of examples/resp_server: multibulk and inline
// requests, pipelining, every prefix of a request reported incomplete, Redis's
// protocol error texts, and limits enforced before allocating.
#include "../examples/resp_server/resp_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

std::vector<std::string> args_of(const resp::command& c) { return {c.args.begin(), c.args.end()}; }

}  // namespace

TEST_CASE("resp: a multibulk request parses into its arguments", "[resp]") {
    resp::command c;
    const std::string in = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
    const auto r = resp::parse_command(in, c);
    REQUIRE(r.status == resp::parse_status::complete);
    CHECK(r.consumed == in.size());
    CHECK(args_of(c) == std::vector<std::string>{"SET", "key", "va\r\nl"});
}

TEST_CASE("resp: pipelined requests parse one after another", "[resp]") {
    const std::string in = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\nPING\r\n";
    resp::command c;
    std::vector<std::vector<std::string>> got;
    std::size_t pos = 0;
    for (;;) {
        const auto r = resp::parse_command(std::string_view(in).substr(pos), c);
        if (r.status != resp::parse_status::complete) break;
        got.push_back(args_of(c));
        pos += r.consumed;
    }
    CHECK(pos == in.size());
    CHECK(got == std::vector<std::vector<std::string>>{{"PING"}, {"ECHO", ""}, {"PING"}});
}

TEST_CASE("resp: every proper prefix of a request is incomplete", "[resp]") {
    for (const std::string& in : {std::string("*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n"), std::string("GET key\r\n")}) {
        resp::command c;
        for (std::size_t n = 0; n < in.size(); ++n) {
            INFO("prefix of " << n << " bytes");
            CHECK(resp::parse_command(std::string_view(in).substr(0, n), c).status == resp::parse_status::incomplete);
        }
        CHECK(resp::parse_command(in, c).status == resp::parse_status::complete);
    }
}

TEST_CASE("resp: inline commands split like redis-cli's, quotes and escapes included", "[resp]") {
    resp::command c;
    auto r = resp::parse_command("set k \"a b\\n\\x41\" 'it\\'s'\r\n", c);
    REQUIRE(r.status == resp::parse_status::complete);
    CHECK(args_of(c) == std::vector<std::string>{"set", "k", "a b\nA", "it's"});
    r = resp::parse_command("PING\n", c);
    REQUIRE(r.status == resp::parse_status::complete);
    CHECK(r.consumed == 5);
    CHECK(resp::parse_command("   \r\n", c).status == resp::parse_status::empty);
    r = resp::parse_command("set k \"open\r\n", c);
    CHECK(r.status == resp::parse_status::error);
    CHECK(r.error == "Protocol error: unbalanced quotes in request");
}

TEST_CASE("resp: malformed requests get Redis's protocol errors", "[resp]") {
    resp::command c;
    auto error_of = [&](std::string_view in) {
        const auto r = resp::parse_command(in, c);
        return r.status == resp::parse_status::error ? r.error : std::string("(no error)");
    };
    CHECK(error_of("*abc\r\n") == "Protocol error: invalid multibulk length");
    CHECK(error_of("*01\r\n") == "Protocol error: invalid multibulk length");
    CHECK(error_of("*1\r\n:1\r\n") == "Protocol error: expected '$', got ':'");
    CHECK(error_of("*1\r\n$-5\r\n") == "Protocol error: invalid bulk length");
    CHECK(error_of("*1\r\n$x\r\n") == "Protocol error: invalid bulk length");
    CHECK(error_of("*1\r\n$3\r\nabcd\r\n") == "Protocol error: expected CRLF after bulk data");
    CHECK(resp::parse_command("*0\r\n", c).status == resp::parse_status::empty);
    CHECK(resp::parse_command("*-1\r\n", c).status == resp::parse_status::empty);
}

TEST_CASE("resp: limits refuse oversized requests before their data arrives", "[resp]") {
    resp::limits small{.max_bulk = 16, .max_args = 4, .max_inline = 32};
    resp::command c;
    // The header alone announces 17 bytes: refused without waiting for them.
    auto r = resp::parse_command("*1\r\n$17\r\n", c, small);
    CHECK(r.status == resp::parse_status::error);
    CHECK(r.error == "Protocol error: invalid bulk length");
    r = resp::parse_command("*5\r\n", c, small);
    CHECK(r.status == resp::parse_status::error);
    r = resp::parse_command("*1\r\n$99999999999999999999\r\n", c);
    CHECK(r.status == resp::parse_status::error);
    r = resp::parse_command(std::string(40, 'a'), c, small);  // no newline yet, already too long
    CHECK(r.status == resp::parse_status::error);
    CHECK(r.error == "Protocol error: too big inline request");
    CHECK(resp::parse_command("*1\r\n$16\r\n", c, small).status == resp::parse_status::incomplete);
}

TEST_CASE("resp: replies are encoded as RESP2", "[resp]") {
    std::string out;
    resp::put_simple(out, "OK");
    resp::put_error(out, "ERR no");
    resp::put_integer(out, -42);
    resp::put_bulk(out, "a\r\nb");
    resp::put_null(out);
    resp::put_array_header(out, 2);
    CHECK(out == "+OK\r\n-ERR no\r\n:-42\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n");
}
