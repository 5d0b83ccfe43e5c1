// Parallelagram's C++ API: everything a program needs to run its functions and processes
// as Lambda tasks (docs/cpp-api.md).
#pragma once

#include "parallelagram/executor.h"
#include "parallelagram/function.h"
#include "parallelagram/future.h"
