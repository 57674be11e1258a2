#pragma once
// Registers one Catch2 test per op table entry (tests/op_table.cpp), named "<prefix><entry>", so
// CTest names the op that fails. Called from a static object's constructor, before main() runs.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/op_table.h"

namespace mtmap::test {

using OpCheck = std::function<void(const OpEntry&)>;

class OpEntryTest : public Catch::ITestInvoker {
 public:
  OpEntryTest(const OpEntry& e, OpCheck check) : e_(e), check_(std::move(check)) {}
  void invoke() const override { check_(e_); }

 private:
  const OpEntry& e_;
  OpCheck check_;
};

// `wanted` picks the entries (every one when null); Catch keeps pointers to the names, which
// therefore live as long as the program.
inline void register_op_tests(const std::string& prefix, const char* tags, const OpCheck& check,
                              const std::function<bool(const OpEntry&)>& wanted = nullptr) {
  static std::vector<std::unique_ptr<std::string>> names;
  for (const OpEntry& e : op_table()) {
    if (wanted && !wanted(e)) continue;
    names.push_back(std::make_unique<std::string>(prefix + e.name));
    Catch::AutoReg(new OpEntryTest(e, check), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                   Catch::NameAndTags{Catch::StringRef(*names.back()), tags});
  }
}

}  // namespace mtmap::test
