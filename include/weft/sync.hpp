// Synchronisation between tasks (asyncio's Lock, Semaphore, Event and Queue, Go's
// WaitGroup and channels): each suspends the waiting task, never the worker.
#pragma once

#include <weft/channel.hpp>
#include <weft/event.hpp>
#include <weft/mutex.hpp>
#include <weft/semaphore.hpp>
#include <weft/task_group.hpp>
#include <weft/wait_group.hpp>
