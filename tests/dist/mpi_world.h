#pragma once
// The MPI tests' process group: made by main_mpi.cpp before Catch runs, shared by the test cases.
// Every test case is collective: both ranks run the same cases in the same order, and a case uses
// CHECK rather than REQUIRE once it has started a collective (a rank that leaves a case early would
// leave the other waiting).
#include "engine/dist/communicator.h"

namespace mtmap::test {
dist::Communicator& world();
}
