#include "driver/prices.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

namespace parallelagram::driver {
namespace {

Status PriceFileError(const std::string& path, const std::string& what) {
  return Status::InvalidArgument("prices file " + path + ": " + what +
                                 " (see docs/cost.md for its format)");
}

Status ReadPrice(const nlohmann::json& v, const std::string& path, const std::string& key,
                 double* out) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
    return PriceFileError(path, "\"" + key + "\" must be a number of US dollars, 0 or more");
  }
  *out = v.get<double>();
  return Status::Ok();
}

}  // namespace

Result<PriceTable> LoadPriceFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read the prices file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const std::exception&) {
    return PriceFileError(path, "not valid JSON");
  }
  if (!j.is_object()) return PriceFileError(path, "not a JSON object");
  PriceTable p;
  p.source = path;
  p.taken = "";
  for (const auto& [key, v] : j.items()) {
    if (key == "region" || key == "taken") {
      if (!v.is_string()) return PriceFileError(path, "\"" + key + "\" must be a string");
      (key == "region" ? p.region : p.taken) = v.get<std::string>();
    } else if (key == "lambda_gb_second") {
      if (!v.is_object()) {
        return PriceFileError(path, "\"lambda_gb_second\" must be {\"x86_64\": N, \"arm64\": N}");
      }
      for (const auto& [arch, price] : v.items()) {
        if (arch == "x86_64") {
          PG_RETURN_IF_ERROR(
              ReadPrice(price, path, "lambda_gb_second.x86_64", &p.gb_second_x86_64));
        } else if (arch == "arm64") {
          PG_RETURN_IF_ERROR(ReadPrice(price, path, "lambda_gb_second.arm64", &p.gb_second_arm64));
        } else {
          return PriceFileError(
              path, "unknown architecture \"" + arch + "\" in lambda_gb_second (x86_64 or arm64)");
        }
      }
    } else if (key == "lambda_request") {
      PG_RETURN_IF_ERROR(ReadPrice(v, path, key, &p.request));
    } else if (key == "ephemeral_gb_second") {
      PG_RETURN_IF_ERROR(ReadPrice(v, path, key, &p.ephemeral_gb_second));
    } else if (key == "s3_put") {
      PG_RETURN_IF_ERROR(ReadPrice(v, path, key, &p.s3_put));
    } else if (key == "s3_get") {
      PG_RETURN_IF_ERROR(ReadPrice(v, path, key, &p.s3_get));
    } else {
      return PriceFileError(path, "unknown key \"" + key +
                                      "\" (known: region, taken, lambda_gb_second, "
                                      "lambda_request, ephemeral_gb_second, s3_put, s3_get)");
    }
  }
  return p;
}

Result<PriceTable> ResolvePrices(const std::string& flag) {
  if (!flag.empty()) return LoadPriceFile(flag);
  if (const char* env = std::getenv("PARALLELAGRAM_PRICES"); env != nullptr && *env != '\0') {
    return LoadPriceFile(env);
  }
  std::string base;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && *x != '\0') {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    base = std::string(h) + "/.config";
  }
  if (!base.empty()) {
    const std::string path = base + "/parallelagram/prices.json";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return LoadPriceFile(path);
  }
  return PriceTable{};
}

std::string DescribePrices(const PriceTable& p) {
  std::string when = p.taken.empty() ? "" : ", taken " + p.taken;
  return fmt::format(
      "prices: {} ({}{}): x86_64 ${:.10g}/GB-s, arm64 ${:.10g}/GB-s, ${:.4g} per million "
      "requests, S3 ${:.4g}/${:.4g} per 1,000 PUT/GET",
      p.region, p.source, when, p.gb_second_x86_64, p.gb_second_arm64, p.request * 1e6,
      p.s3_put * 1000, p.s3_get * 1000);
}

double FunctionPricing::InvocationUsd(int64_t billed_ms, int64_t memory) const {
  const double mb = static_cast<double>(memory > 0 ? memory : memory_mb);
  const double seconds = static_cast<double>(std::max<int64_t>(0, billed_ms)) / 1000.0;
  double usd = prices.request + seconds * (mb / 1024.0) * prices.GbSecond(architecture);
  if (ephemeral_storage_mb > 512) {
    usd += seconds * (static_cast<double>(ephemeral_storage_mb - 512) / 1024.0) *
           prices.ephemeral_gb_second;
  }
  return usd;
}

std::string FormatUsd(double usd) {
  if (usd >= 0.01 || usd == 0) return fmt::format("${:.2f}", usd);
  return fmt::format("${:.6f}", usd);
}

}  // namespace parallelagram::driver
