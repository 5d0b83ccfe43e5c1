// The test binary's main: like a user's program, it serves as the worker of its own
// Executor tests (executor_test.cc) when the embedded local Lambda starts it.
#include <gtest/gtest.h>

#include "parallelagram/executor.h"

int main(int argc, char** argv) {
  parallelagram::ServeIfWorker(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
