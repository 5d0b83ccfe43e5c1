#include "driver/cost_meter.h"

namespace parallelagram::driver {

Charge CostMeter::Add(const TaskRecord& answer) {
  Charge c;
  const TaskResult& r = answer.result;
  if (r.outcome == Outcome::kThrottled || r.outcome == Outcome::kTransport) return c;
  c.billed = true;
  if (r.billed_ms > 0 || r.memory_mb > 0) {
    c.billed_ms = r.billed_ms;
    c.memory_mb = r.memory_mb > 0 ? r.memory_mb : pricing_.memory_mb;
    c.init_ms = r.init_ms;
    c.estimate = r.billing_estimate;
  } else {  // nothing measured: the driver's own wall time of the invocation
    c.billed_ms = answer.runtime_ms;
    c.memory_mb = pricing_.memory_mb;
    c.estimate = true;
  }
  c.usd = pricing_.InvocationUsd(c.billed_ms, c.memory_mb) +
          pricing_.prices.S3RequestsUsd(r.s3_put_requests, r.s3_get_requests);
  spent_ += c.usd;
  ++billed_;
  if (c.estimate) estimated_ = true;
  return c;
}

void CostMeter::SetDriverRequests(const aws::S3RequestCounts& sent) {
  driver_s3_usd_ = pricing_.prices.S3RequestsUsd(sent.put_class, sent.get_class);
}

}  // namespace parallelagram::driver
