// The plain test main (library mtmap_catch_main): Catch's own command line, nothing else.
#include "tests/catch_session.h"

int main(int argc, char** argv) { return mtmap::test::run_catch_session(argc, argv); }
