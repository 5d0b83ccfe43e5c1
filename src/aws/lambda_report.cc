#include "aws/lambda_report.h"

#include <cstdlib>
#include <string>

namespace parallelagram::aws {
namespace {

// The number after "NAME: " in `line`, or nullopt.
std::optional<double> ReportField(std::string_view line, std::string_view name) {
  size_t pos = 0;
  for (;;) {
    pos = line.find(name, pos);
    if (pos == std::string_view::npos) return std::nullopt;
    // A whole field name: after a tab or the "REPORT " prefix ("Duration" is not the end of
    // "Billed Duration").
    const bool starts = line[pos - 1] == '\t' || line.substr(0, pos) == "REPORT ";
    const size_t after = pos + name.size();
    if (starts && line.substr(after, 2) == ": ") {
      std::string number(line.substr(after + 2, 32));
      char* end = nullptr;
      double v = std::strtod(number.c_str(), &end);
      if (end == number.c_str() || !(v >= 0)) return std::nullopt;
      return v;
    }
    pos = after;
  }
}

}  // namespace

std::optional<LambdaReport> ParseLambdaReport(std::string_view log) {
  // The last line starting with "REPORT RequestId:".
  size_t at = std::string_view::npos;
  for (size_t pos = log.rfind("REPORT RequestId:"); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : log.rfind("REPORT RequestId:", pos - 1)) {
    if (pos == 0 || log[pos - 1] == '\n') {
      at = pos;
      break;
    }
  }
  if (at == std::string_view::npos) return std::nullopt;
  size_t eol = log.find('\n', at);
  std::string_view line =
      log.substr(at, eol == std::string_view::npos ? log.size() - at : eol - at);
  auto billed = ReportField(line, "Billed Duration");
  auto memory = ReportField(line, "Memory Size");
  if (!billed || !memory) return std::nullopt;
  LambdaReport r;
  r.billed_ms = static_cast<int64_t>(*billed);
  r.memory_size_mb = static_cast<int64_t>(*memory);
  r.duration_ms = ReportField(line, "Duration").value_or(0);
  r.max_memory_used_mb = static_cast<int64_t>(ReportField(line, "Max Memory Used").value_or(0));
  r.init_ms = ReportField(line, "Init Duration").value_or(0);
  return r;
}

}  // namespace parallelagram::aws
