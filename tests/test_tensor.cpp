#include <catch2/catch.hpp>

int placeholder_never_compiled;
