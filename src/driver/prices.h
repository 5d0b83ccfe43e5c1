// What Lambda and S3 cost: one price table in the code (us-east-1, with the date it was
// taken; ../shared/lambda-facts.md "Pricing"), which a small JSON prices file may override for
// another region or a negotiated rate:
//
//   {"region": "eu-central-1", "taken": "2026-11-01",
//    "lambda_gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334},
//    "lambda_request": 0.0000002, "ephemeral_gb_second": 0.0000000309,
//    "s3_put": 0.000005, "s3_get": 0.0000004}
//
// Every key is optional (an absent one keeps the built-in price); an unknown key, a price
// that is not a non-negative number, or a file that is not JSON is an error naming the file
// and the key. Prices are in USD per unit (a request, a GB-second, an S3 request).
// Which file applies: --prices FILE, else $PARALLELAGRAM_PRICES, else
// $XDG_CONFIG_HOME/parallelagram/prices.json (~/.config/...) when it exists, else none.
// Thread-safety: values; the functions are pure apart from reading the file.
#pragma once

#include <cstdint>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::driver {

struct PriceTable {
  std::string region = "us-east-1";
  std::string taken = "2026-12-01";  // when the built-in prices were read off AWS's page
  std::string source = "built-in";   // "built-in", or the prices file's path
  double gb_second_x86_64 = 0.0000166667;
  double gb_second_arm64 = 0.0000133334;
  double request = 0.0000002;                 // $0.20 per million
  double ephemeral_gb_second = 0.0000000309;  // /tmp beyond the 512 MB included
  double s3_put = 0.000005;                   // PUT, COPY, POST, LIST: $0.005 per 1,000
  double s3_get = 0.0000004;                  // GET and the rest: $0.0004 per 1,000

  // What `put` requests of the PUT class and `get` of the GET class cost.
  double S3RequestsUsd(int64_t put, int64_t get) const {
    return static_cast<double>(put) * s3_put + static_cast<double>(get) * s3_get;
  }
  double GbSecond(const std::string& architecture) const {
    return architecture == "arm64" ? gb_second_arm64 : gb_second_x86_64;
  }
};

// The built-in table overridden by the file at `path`.
Result<PriceTable> LoadPriceFile(const std::string& path);

// The table that applies (see above): `flag` is --prices ("" when not given).
Result<PriceTable> ResolvePrices(const std::string& flag);

// One line for `doctor` and --dry-run: "prices: us-east-1 (built-in, taken 2026-12-01):
// x86_64 $0.0000166667/GB-s, arm64 $0.0000133334/GB-s, $0.20 per million requests".
std::string DescribePrices(const PriceTable& p);

// What one function's invocations cost.
struct FunctionPricing {
  PriceTable prices;
  std::string architecture = "x86_64";
  int64_t memory_mb = 1024;  // when an answer does not say
  int64_t ephemeral_storage_mb = 512;

  // One billed invocation: `billed_ms` at `memory_mb` (0: this function's), its request, and
  // the /tmp beyond 512 MB for as long.
  double InvocationUsd(int64_t billed_ms, int64_t memory_mb = 0) const;
};

// "$12.34" from a cent up; "$0.000123" (6 decimals) below, so small jobs do not read $0.00.
std::string FormatUsd(double usd);

}  // namespace parallelagram::driver
