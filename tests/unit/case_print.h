// Test scaffolding: failure messages name a table row by its test_name, not its raw bytes.
#pragma once
#include <ostream>

namespace probescope {
namespace {  // the including file's own unnamed namespace, where its case structs live (ADL)

template <typename Case>
requires requires(const Case& c) { *c.test_name; }
void PrintTo(const Case& c, std::ostream* os) { *os << c.test_name; }

}  // namespace
}  // namespace probescope
