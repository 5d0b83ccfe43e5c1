#include "aws/multipart_plan.h"

#include <algorithm>
#include <string>

namespace parallelagram::aws {

Result<std::vector<PartRange>> PlanParts(int64_t object_size, int64_t preferred_part_size) {
  if (object_size < 0) return Status::InvalidArgument("multipart: negative object size");
  if (object_size > kS3MaxObjectSize) {
    return Status::InvalidArgument(
        "multipart: object of " + std::to_string(object_size) +
        " bytes is over S3's 5 TiB limit; split it into several objects");
  }
  int64_t part = std::max(preferred_part_size, kS3MinPartSize);
  int64_t needed = (object_size + kS3MaxParts - 1) / kS3MaxParts;  // smallest size for 10,000
  if (part < needed) part = (needed + kMiB - 1) / kMiB * kMiB;
  part = std::min(part, kS3MaxPartSize);
  std::vector<PartRange> parts;
  if (object_size == 0) {
    parts.push_back({1, 0, 0});
    return parts;
  }
  parts.reserve(static_cast<size_t>((object_size + part - 1) / part));
  int n = 1;
  for (int64_t off = 0; off < object_size; off += part, ++n) {
    parts.push_back({n, off, std::min(part, object_size - off)});
  }
  return parts;
}

}  // namespace parallelagram::aws
