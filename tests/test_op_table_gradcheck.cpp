// The float64 gradient check of every op table entry (tests/op_table.cpp), on the CPU: one Catch2
// test per entry, "op table gradcheck: <entry>", so CTest names the op that fails. Every input
// that requires grad is checked element by element; the others must receive no gradient.
#include "tests/op_table_tests.h"
#include "tests/test_support.h"

namespace mtmap::test {
namespace {

struct Register {
  Register() {
    register_op_tests("op table gradcheck: ", "[gradcheck][op_table]", [](const OpEntry& e) {
      std::vector<Tensor> inputs = make_inputs(e, DType::f64, Device::cpu());
      REQUIRE_GRADCHECK(e.name, e.op, inputs, e.gradcheck);
    });
  }
} register_entries;

}  // namespace
}  // namespace mtmap::test
