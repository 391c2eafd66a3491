// weft::fs: whole-file reads and writes that suspend only the calling task. With
// io_uring they run on the worker's ring; with epoll on a small blocking-I/O pool
// (config::blocking_threads), since regular files cannot be polled.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <string>
#include <string_view>

namespace weft::fs {

// The whole file. Throws io_error naming the path: "read_file /nope: No such file
// or directory".
WEFT_API task<std::string> read_file(std::string path);

// Creates or truncates `path` (mode 0644 before the umask) and writes `data`,
// which must stay alive until the returned task finishes. Throws io_error naming
// the path.
WEFT_API task<void> write_file(std::string path, std::string_view data);

}  // namespace weft::fs
