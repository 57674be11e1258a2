// The float64 gradient check of every op table entry (tests/op_table.cpp), on the CPU: one Catch2
// test per entry, "op table gradcheck: <entry>", so CTest names the op that fails. Every input
// that requires grad is checked element by element; the others must receive no gradient.
#include <memory>

#include "tests/op_table.h"
#include "tests/test_support.h"

namespace mtmap::test {
namespace {

class GradcheckEntry : public Catch::ITestInvoker {
 public:
  explicit GradcheckEntry(const OpEntry& e) : e_(e) {}
  void invoke() const override {
    std::vector<Tensor> inputs = make_inputs(e_, DType::f64, Device::cpu());
    REQUIRE_GRADCHECK(e_.name, e_.op, inputs, e_.gradcheck);
  }

 private:
  const OpEntry& e_;
};

// Registers one test per entry before main() runs (the table is built on first use).
struct Register {
  Register() {
    static std::vector<std::unique_ptr<std::string>> names;
    for (const OpEntry& e : op_table()) {
      names.push_back(std::make_unique<std::string>("op table gradcheck: " + e.name));
      Catch::AutoReg(new GradcheckEntry(e), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                     Catch::NameAndTags{Catch::StringRef(*names.back()), "[gradcheck][op_table]"});
    }
  }
} register_entries;

}  // namespace
}  // namespace mtmap::test
