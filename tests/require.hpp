// L2TPVPN_REQUIRE(cond, what): a test that cannot run on this machine because it lacks something (root, a
// program, a package) is skipped with `what` named; under the CI entry point tests/run-all.sh, which sets
// L2TPVPN_REQUIRE_ALL=1 after installing the whole install list, the same lack is a failure naming `what`, so
// nothing is skipped silently there. Use it in SetUp() or at the top of a test body.
#pragma once

#include <cstdlib>

#include <gtest/gtest.h>

#define L2TPVPN_REQUIRE(cond, what)                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      if (std::getenv("L2TPVPN_REQUIRE_ALL") != nullptr) GTEST_FAIL() << "missing: " << what; \
      GTEST_SKIP() << "missing: " << what;                                                   \
    }                                                                                        \
  } while (0)
