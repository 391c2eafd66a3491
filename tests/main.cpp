// The Catch2 main for every test suite.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
