// Everything public in weft: include this one header.
#pragma once

#include <weft/async_generator.hpp>
#include <weft/channel.hpp>
#include <weft/config.hpp>
#include <weft/errors.hpp>
#include <weft/event.hpp>
#include <weft/fs.hpp>
#include <weft/generator.hpp>
#include <weft/inplace_vector.hpp>
#include <weft/mutex.hpp>
#include <weft/net.hpp>
#include <weft/runtime.hpp>
#include <weft/semaphore.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/sync.hpp>
#include <weft/task.hpp>
#include <weft/task_group.hpp>
#include <weft/timeout.hpp>
#include <weft/wait_group.hpp>
#include <weft/when_all.hpp>
#include <weft/when_any.hpp>
#include <weft/yield.hpp>
