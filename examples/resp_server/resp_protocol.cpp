// RESP2 request parsing and reply encoding (resp_protocol.hpp). The error texts
// are Redis's own, so clients see what they would see from redis-server.
#include "resp_protocol.hpp"

#include <charconv>

namespace resp {

namespace {

constexpr std::string_view k_crlf = "\r\n";

// Parses a decimal integer that fills `s` exactly (Redis's string2ll rules: an
// optional '-', digits, no '+', no spaces, no leading zeros except "0").
bool parse_length(std::string_view s, long long& v) {
    if (s.empty() || s.size() > 20) return false;
    if (s.size() > 1 && s[0] == '0') return false;
    const char* first = s.data();
    const char* last = s.data() + s.size();
    if (*first == '+') return false;
    const auto [ptr, ec] = std::from_chars(first, last, v);
    return ec == std::errc{} && ptr == last;
}

parse_result fail(std::string message) { return {parse_status::error, 0, "Protocol error: " + std::move(message)}; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Splits an inline line like Redis's sdssplitargs: whitespace-separated words,
// "double quotes" with \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' with \'.
// False on unbalanced quotes, or a closing quote not followed by a space.
bool split_inline(std::string_view line, std::vector<std::string>& words) {
    std::size_t i = 0;
    const std::size_t n = line.size();
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    for (;;) {
        while (i < n && is_space(line[i])) ++i;
        if (i == n) return true;
        std::string word;
        bool in_double = false;
        bool in_single = false;
        for (;;) {
            if (in_double) {
                if (i == n) return false;
                const char c = line[i];
                if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
                    hex_value(line[i + 3]) >= 0) {
                    word += static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
                    i += 4;
                } else if (c == '\\' && i + 1 < n) {
                    const char e = line[i + 1];
                    word += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
                    i += 2;
                } else if (c == '"') {
                    ++i;
                    if (i < n && !is_space(line[i])) return false;  // "foo"bar
                    break;
                } else {
                    word += c;
                    ++i;
                }
            } else if (in_single) {
                if (i == n) return false;
                const char c = line[i];
                if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
                    word += '\'';
                    i += 2;
                } else if (c == '\'') {
                    ++i;
                    if (i < n && !is_space(line[i])) return false;
                    break;
                } else {
                    word += c;
                    ++i;
                }
            } else {
                if (i == n || is_space(line[i])) break;
                if (line[i] == '"') {
                    in_double = true;
                } else if (line[i] == '\'') {
                    in_single = true;
                } else {
                    word += line[i];
                }
                ++i;
            }
        }
        words.push_back(std::move(word));
    }
}

parse_result parse_inline(std::string_view in, command& out, const limits& lim) {
    const std::size_t eol = in.find('\n');
    if (eol == std::string_view::npos) {
        if (in.size() > lim.max_inline) return fail("too big inline request");
        return {parse_status::incomplete, 0, {}};
    }
    if (eol > lim.max_inline) return fail("too big inline request");
    std::string_view line = in.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!split_inline(line, out.owned)) return fail("unbalanced quotes in request");
    if (out.owned.empty()) return {parse_status::empty, eol + 1, {}};
    for (const std::string& w : out.owned) out.args.emplace_back(w);
    return {parse_status::complete, eol + 1, {}};
}

}  // namespace

parse_result parse_command(std::string_view in, command& out, const limits& lim) {
    out.clear();
    if (in.empty()) return {parse_status::incomplete, 0, {}};
    if (in[0] != '*') return parse_inline(in, out, lim);

    std::size_t pos = 1;
    std::size_t eol = in.find(k_crlf, pos);
    if (eol == std::string_view::npos) {
        // Redis allows up to 1024 bytes of header before it gives up on it.
        if (in.size() > 1024 * 64) return fail("too big mbulk count string");
        return {parse_status::incomplete, 0, {}};
    }
    long long count = 0;
    if (!parse_length(in.substr(pos, eol - pos), count) || count > static_cast<long long>(lim.max_args))
        return fail("invalid multibulk length");
    pos = eol + 2;
    if (count <= 0) return {parse_status::empty, pos, {}};
    out.args.reserve(static_cast<std::size_t>(count) < 64 ? static_cast<std::size_t>(count) : 64);
    for (long long i = 0; i < count; ++i) {
        if (pos >= in.size()) return {parse_status::incomplete, 0, {}};
        if (in[pos] != '$') return fail(std::string("expected '$', got '") + in[pos] + "'");
        eol = in.find(k_crlf, pos + 1);
        if (eol == std::string_view::npos) {
            if (in.size() - pos > 1024 * 64) return fail("too big bulk count string");
            return {parse_status::incomplete, 0, {}};
        }
        long long len = 0;
        if (!parse_length(in.substr(pos + 1, eol - pos - 1), len) || len < 0 ||
            static_cast<unsigned long long>(len) > lim.max_bulk)
            return fail("invalid bulk length");
        pos = eol + 2;
        const auto n = static_cast<std::size_t>(len);
        if (in.size() - pos < n + 2) return {parse_status::incomplete, 0, {}};
        if (in.substr(pos + n, 2) != k_crlf) return fail("expected CRLF after bulk data");
        out.args.push_back(in.substr(pos, n));
        pos += n + 2;
    }
    return {parse_status::complete, pos, {}};
}

void put_simple(std::string& out, std::string_view s) {
    out += '+';
    out += s;
    out += k_crlf;
}

void put_error(std::string& out, std::string_view s) {
    out += '-';
    out += s;
    out += k_crlf;
}

namespace {

// A type byte, a number and CRLF: ":42", "$5", "*3".
template <class Number>
void put_number_line(std::string& out, char type, Number n) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out += type;
    out.append(buf, end);
    out += k_crlf;
}

}  // namespace

void put_integer(std::string& out, std::int64_t v) { put_number_line(out, ':', v); }

void put_bulk(std::string& out, std::string_view s) {
    put_number_line(out, '$', s.size());
    out += s;
    out += k_crlf;
}

void put_null(std::string& out) { out += "$-1\r\n"; }

void put_array_header(std::string& out, std::size_t n) { put_number_line(out, '*', n); }

}  // namespace resp
