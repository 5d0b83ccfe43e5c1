// The AWS backend (`run --backend aws`): the deployed Lambda function (RequestResponse
// invocations in sync mode, Event invocations with results collected from S3 in async mode),
// signed with SigV4, and an S3ObjectStore under s3://BUCKET/PREFIX/ for staging and results.
//
// What to use comes from the deployment record `parallelagram deploy` wrote (its --config
// path, or the default), overridden by --function / --bucket. Before any task starts, it
// resolves credentials and reads the function (GetFunction): wrong credentials, a missing
// function or a function with reserved concurrency 0 fail the run with one line saying what
// to do. The function's reserved concurrency caps the tasks in flight (max_in_flight()).
//
// Thread-safety: create and use on the loop thread. Lifetime: borrows `loop`.
#pragma once

#include <memory>

#include "aws/aws_config.h"
#include "driver/backend.h"
#include "http/io_loop.h"

namespace parallelagram::driver {

Result<std::unique_ptr<Backend>> StartAwsBackend(IoLoop& loop, const BackendConfig& config,
                                                 const aws::Environment& env);

}  // namespace parallelagram::driver
