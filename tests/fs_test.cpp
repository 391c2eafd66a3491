// weft::fs on both backends: round trips, files without a known size, and errors
// that name the path.
#include "io_support.hpp"

#include <weft/weft.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

namespace {

std::string temp_path(const std::string& name) {
    return "/tmp/weft_fs_test_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

TEST_CASE("write_file then read_file gives the same bytes") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    const std::string path = temp_path(backend_name);
    std::string data(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
    rt.block_on(weft::fs::write_file(path, data));
    CHECK(rt.block_on(weft::fs::read_file(path)) == data);
    rt.block_on(weft::fs::write_file(path, "short"));  // truncates
    CHECK(rt.block_on(weft::fs::read_file(path)) == "short");
    rt.block_on(weft::fs::write_file(path, ""));
    CHECK(rt.block_on(weft::fs::read_file(path)).empty());
    ::unlink(path.c_str());
}

TEST_CASE("read_file reads files whose size stat does not know") {
    WEFT_FOR_EACH_BACKEND(cfg, 1);
    weft::runtime rt(cfg);
    const std::string status = rt.block_on(weft::fs::read_file("/proc/self/status"));
    CHECK(status.find("Name:") != std::string::npos);
}

TEST_CASE("file errors name the path") {
    WEFT_FOR_EACH_BACKEND(cfg, 1);
    weft::runtime rt(cfg);
    CHECK_THROWS_WITH(rt.block_on(weft::fs::read_file("/nonexistent/weft/file")),
                      Catch::Contains("read_file /nonexistent/weft/file") && Catch::Contains("No such file"));
    CHECK_THROWS_WITH(rt.block_on(weft::fs::write_file("/nonexistent/weft/file", "x")),
                      Catch::Contains("write_file /nonexistent/weft/file"));
    CHECK_THROWS_AS(rt.block_on(weft::fs::read_file("/tmp")), weft::io_error);  // a directory
    CHECK_THROWS_WITH(rt.block_on(weft::fs::read_file("")), Catch::StartsWith("read_file \"\": "));
    CHECK_THROWS_WITH(rt.block_on(weft::fs::write_file("", "x")), Catch::StartsWith("write_file \"\": "));
}
