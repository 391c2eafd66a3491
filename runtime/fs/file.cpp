// weft::fs: whole-file reads and writes. With io_uring: openat, read/write and
// close on the worker's ring. With epoll (regular files are always "ready"): the
// plain system calls on the runtime's blocking pool.
#include "../printable.hpp"
#include "../reactor/awaiters.hpp"

#include <weft/fs.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace weft::fs {

namespace {

using weft::detail::io_backend_kind;
using weft::detail::io_op;
using weft::detail::op_kind;
using weft::detail::ring_wait;

// The path as error messages show it: an empty one as "" (the bare call name
// followed by a colon read as a missing word), a NUL byte as \0.
std::string shown(const std::string& path) {
    return path.empty() ? std::string("\"\"") : weft::detail::printable(path);
}

// open() reads the path up to its first NUL: "a\0b" would open "a".
void check_no_nul(const std::string& path, const char* call) {
    if (path.find('\0') != std::string::npos)
        throw io_error(EINVAL, std::string(call) + " " + shown(path) + ": the path contains a NUL byte");
}

constexpr std::size_t k_min_chunk = 64 * 1024;
constexpr std::uint64_t k_current_position = ~std::uint64_t{0};  // io_uring: use the file position

struct fd_closer {
    int fd;
    ~fd_closer() {
        if (fd >= 0) ::close(fd);
    }
};

std::size_t size_hint(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) return static_cast<std::size_t>(st.st_size);
    return 0;
}

// How much to read next: the rest of the file when its size is known (so one
// read takes it all), plus one byte to see end of file; at least k_min_chunk.
std::size_t next_chunk(std::size_t hint, std::size_t used) {
    return std::max(k_min_chunk, hint + 1 - std::min(hint, used));
}

task<int> ring_open(const std::string& path, int flags, unsigned mode) {
    io_op op;
    op.kind_ = op_kind::openat;
    op.path_ = path.c_str();
    op.flags_ = flags;
    op.mode_ = mode;
    co_return co_await ring_wait(op);
}

task<int> ring_rw(op_kind kind, int fd, void* buf, std::size_t len) {
    io_op op;
    op.kind_ = kind;
    op.fd_ = fd;
    op.buf_ = buf;
    op.len_ = static_cast<unsigned>(std::min<std::size_t>(len, 1u << 30));
    op.offset_ = k_current_position;
    co_return co_await ring_wait(op);
}

// The two below run on the blocking pool. An open, and a read or write of a file
// that is not a regular one, may block for good (a FIFO with no peer, a
// terminal): those are cancel_points, where the runtime's shutdown can cut them
// short (blocking_pool.hpp). A regular file's reads and writes always finish,
// so a write_file under way at shutdown still writes the whole file.
int open_blocking(const std::string& path, int flags, mode_t mode = 0) {
    return weft::detail::in_cancel_point(true, [&] { return ::open(path.c_str(), flags, mode); });
}

bool may_block_for_good(int fd) noexcept {
    struct stat st {};
    return ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
}

std::string read_blocking(const std::string& path) {
    const int fd = open_blocking(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw io_error(errno, "read_file " + shown(path));
    fd_closer closer{fd};
    std::string out;
    std::size_t used = 0;
    const std::size_t hint = size_hint(fd);
    const bool endless = may_block_for_good(fd);
    for (;;) {
        const std::size_t chunk = next_chunk(hint, used);
        out.resize(used + chunk);
        const ssize_t n =
            weft::detail::in_cancel_point(endless, [&] { return ::read(fd, out.data() + used, chunk); });
        if (n < 0) {
            if (errno == EINTR) continue;
            throw io_error(errno, "read_file " + shown(path));
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    out.resize(used);
    return out;
}

void write_blocking(const std::string& path, std::string_view data) {
    const int fd = open_blocking(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw io_error(errno, "write_file " + shown(path));
    fd_closer closer{fd};
    const bool endless = may_block_for_good(fd);
    while (!data.empty()) {
        const ssize_t n = weft::detail::in_cancel_point(endless, [&] { return ::write(fd, data.data(), data.size()); });
        if (n < 0) {
            if (errno == EINTR) continue;
            throw io_error(errno, "write_file " + shown(path));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    closer.fd = -1;
    if (::close(fd) != 0) throw io_error(errno, "write_file " + shown(path) + " (close)");
}

}  // namespace

task<std::string> read_file(std::string path) {
    check_no_nul(path, "read_file");
    if (weft::detail::current_reactor("weft::fs::read_file").kind() != io_backend_kind::io_uring) {
        std::string out;
        co_await weft::detail::blocking_call([&] { out = read_blocking(path); },
                                             [&] { return "read_file " + shown(path); });
        co_return out;
    }
    const int fd = co_await ring_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) throw io_error(-fd, "read_file " + shown(path));
    fd_closer closer{fd};
    std::string out;
    std::size_t used = 0;
    const std::size_t hint = size_hint(fd);
    for (;;) {
        const std::size_t chunk = next_chunk(hint, used);
        out.resize(used + chunk);
        const int n = co_await ring_rw(op_kind::read, fd, out.data() + used, chunk);
        if (n < 0) {
            if (n == -EINTR || n == -EAGAIN) continue;
            throw io_error(-n, "read_file " + shown(path));
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    out.resize(used);
    co_return out;
}

task<void> write_file(std::string path, std::string_view data) {
    check_no_nul(path, "write_file");
    if (weft::detail::current_reactor("weft::fs::write_file").kind() != io_backend_kind::io_uring) {
        co_await weft::detail::blocking_call([&] { write_blocking(path, data); },
                                             [&] { return "write_file " + shown(path); });
        co_return;
    }
    const int fd = co_await ring_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw io_error(-fd, "write_file " + shown(path));
    fd_closer closer{fd};
    while (!data.empty()) {
        const int n = co_await ring_rw(op_kind::write, fd, const_cast<char*>(data.data()), data.size());
        if (n < 0) {
            if (n == -EINTR || n == -EAGAIN) continue;
            throw io_error(-n, "write_file " + shown(path));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    closer.fd = -1;
    if (::close(fd) != 0) throw io_error(errno, "write_file " + shown(path) + " (close)");
}

}  // namespace weft::fs
