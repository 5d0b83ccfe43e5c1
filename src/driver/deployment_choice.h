// Which deployment `run --backend aws` (and the C++ Executor with backend "aws") runs on.
//
// The function is --function, else $PARALLELAGRAM_FUNCTION; the bucket --bucket, else
// $PARALLELAGRAM_BUCKET. With a function named, its recorded deployment (deploy/
// deployment_store.h) is used, the bucket overridden when one is given. A function with no
// record runs with the given bucket; without one it borrows the bucket of the only recorded
// deployment (as before several could be recorded). With no function named, the only
// recorded deployment is used; several are an error listing them. So inside a Lambda function
// (no HOME, no config file) the two variables are all the driver needs.
//
// Thread-safety: a plain function (it reads the record files). Errors: one line saying what
// to do (NotFound: nothing recorded fits; InvalidArgument: a choice is needed or a record is
// unreadable).
#pragma once

#include <string>

#include "aws/aws_config.h"
#include "deploy/deployment_record.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// The environment variables that stand in for --function and --bucket.
inline constexpr char kFunctionEnvVar[] = "PARALLELAGRAM_FUNCTION";
inline constexpr char kBucketEnvVar[] = "PARALLELAGRAM_BUCKET";

// `config_file`: --config ("" = the default store of `env`); `function`, `bucket`: the flags
// ("" = not given; then the variables above in `env`).
Result<deploy::DeploymentRecord> ChooseDeployment(const std::string& config_file,
                                                  const std::string& function,
                                                  const std::string& bucket,
                                                  const aws::Environment& env);

}  // namespace parallelagram::driver
