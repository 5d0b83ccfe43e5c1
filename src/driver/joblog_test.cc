#include "driver/joblog.h"

#include <gtest/gtest.h>

namespace parallelagram::driver {
namespace {

TEST(JoblogTest, GnuParallelColumns) {
  EXPECT_EQ(JoblogHeader(),
            "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
  TaskRecord rec;
  rec.seq = 2;
  rec.start_epoch_ms = 1795635560451;
  rec.runtime_ms = 23;
  rec.result.outcome = Outcome::kFailed;
  rec.result.exit_code = 1;
  rec.result.stdout_bytes = 2;
  // Byte for byte what GNU parallel 20221122 wrote for `echo 1; exit 1`.
  EXPECT_EQ(JoblogLine(rec, ":", 0, "echo 1; exit 1"),
            "2\t:\t1795635560.451\t     0.023\t0\t2\t1\t0\techo 1; exit 1\n");
}

TEST(JoblogTest, TimeoutAndSignal) {
  TaskRecord rec;
  rec.seq = 1;
  rec.start_epoch_ms = 1000;
  rec.runtime_ms = 1322;
  rec.result.outcome = Outcome::kTimedOut;
  rec.result.signal = 9;
  EXPECT_EQ(JoblogLine(rec, ":", 0, "sleep 3"), "1\t:\t1.000\t     1.322\t0\t0\t-1\t9\tsleep 3\n");
  rec.result = TaskResult{};
  rec.result.outcome = Outcome::kCrashed;
  rec.result.signal = 9;
  EXPECT_EQ(JoblogLine(rec, ":", 0, "kill -9 $$\n"), "1\t:\t1.000\t     1.322\t0\t0\t0\t9\tkill -9 $$ \n");
}

}  // namespace
}  // namespace parallelagram::driver
