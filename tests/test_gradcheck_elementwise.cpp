#include <catch2/catch.hpp>

int placeholder_test_gradcheck_elementwise;
