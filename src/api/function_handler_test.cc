#include "api/function_handler.h"

#include <gtest/gtest.h>

#include "parallelagram/function.h"

namespace parallelagram::api {
namespace {

TEST(FunctionHandlerTest, CborCarriesStringsAsRawBytes) {
  const std::string bytes("\xff\x00\x80 a", 5);
  EXPECT_EQ(detail::DecodeValue<std::string>(detail::EncodeValue(bytes)), bytes);
  EXPECT_THROW(detail::FromBytes("\xff\xff"), ArgumentError);
  EXPECT_THROW(detail::DecodeValue<int>(detail::EncodeValue(std::string("x"))), ArgumentError);
}

TEST(FunctionHandlerTest, AFunctionNotInThisBuildFailsItsTaskWithoutRunningAnything) {
  // An older deploy that lacks the function: the worker answers a failed task, never crashes.
  auto h = MakeFunctionTaskHandler("/nonexistent/program");
  TaskEvent e;
  e.kind = "function";
  e.function = "NotInThisBuild";
  InvocationContext ctx;
  auto r = h->Run(e, ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_EQ(r->error_type, "parallelagram::UnknownFunction");
  EXPECT_EQ(r->error,
            "function NotInThisBuild is not in this worker's build: redeploy the program that "
            "calls it");
}

}  // namespace
}  // namespace parallelagram::api
