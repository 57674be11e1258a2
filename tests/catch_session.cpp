// Catch2's implementation (its single header with CATCH_CONFIG_RUNNER), compiled once into
// mtmap_catch for every test program: each copy took 35–50 s on 2 cores, and there were twenty in
// a build. The programs' mains (main.cpp, cuda/main_cuda.cpp, ...) call run_catch_session.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/catch_session.h"

int mtmap::test::run_catch_session(int argc, char** argv) { return Catch::Session().run(argc, argv); }
