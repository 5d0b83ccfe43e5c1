// Multipart upload planning: how to cut an object of a given size into parts
// that S3 accepts (every part but the last at least 5 MiB, at most 5 GiB each,
// at most 10,000 parts, objects at most 5 TiB).
//
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::aws {

inline constexpr int64_t kMiB = 1024 * 1024;
inline constexpr int64_t kS3MinPartSize = 5 * kMiB;
inline constexpr int64_t kS3MaxPartSize = 5LL * 1024 * kMiB;
inline constexpr int64_t kS3MaxParts = 10000;
inline constexpr int64_t kS3MaxObjectSize = 5LL * 1024 * 1024 * kMiB;
// Objects at least this large are uploaded in parts by default.
inline constexpr int64_t kS3DefaultMultipartThreshold = 16 * kMiB;
inline constexpr int64_t kS3DefaultPartSize = 8 * kMiB;

struct PartRange {
  int part_number = 0;  // 1-based
  int64_t offset = 0;
  int64_t length = 0;
};

// Cuts `object_size` bytes into parts of `preferred_part_size` (raised to 5 MiB,
// and raised further, in whole MiB, so that no more than 10,000 parts are
// needed). An empty object gives one empty part. Errors (kInvalidArgument):
// a negative size, or one above S3's 5 TiB object limit.
Result<std::vector<PartRange>> PlanParts(int64_t object_size,
                                         int64_t preferred_part_size = kS3DefaultPartSize);

}  // namespace parallelagram::aws
