#pragma once
// Runs Catch2's session (tests/catch_session.cpp, library mtmap_catch). Catch declares its Session
// class only in the one file that compiles its implementation, so the test programs' mains call
// this instead of Catch::Session().run.

namespace mtmap::test {
// Catch's command line, the registered tests, Catch's exit status.
int run_catch_session(int argc, char** argv);
}  // namespace mtmap::test
