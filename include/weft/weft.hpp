// Everything public in weft: include this one header.
#pragma once

#include <weft/config.hpp>
#include <weft/errors.hpp>
#include <weft/generator.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/when_all.hpp>
#include <weft/yield.hpp>
