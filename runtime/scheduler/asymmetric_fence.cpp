// The heavy side of detail/asymmetric_fence.hpp: membarrier(2).
#include <weft/detail/asymmetric_fence.hpp>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace weft::detail {

namespace {

long membarrier(int cmd) noexcept { return syscall(__NR_membarrier, cmd, 0U, 0); }

bool register_expedited() noexcept {
    const long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
    // Registration is per process and idempotent; until it is done the
    // expedited command fails with EPERM.
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace

bool asymmetric_fence_available() noexcept {
    static const bool available = register_expedited();
    return available;
}

bool heavy_fence() noexcept { return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0; }

}  // namespace weft::detail
