// Estimates pi with 1,000 Lambda calls of 100,000 random points each, reduced here.
//   monte_carlo_pi [--aws FUNCTION] [--tasks N]
#include <parallelagram/parallelagram.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

struct Sample {
  uint64_t seed = 0;
  int64_t points = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Sample, seed, points)

// Points of the sample that fall inside the unit quarter circle.
int64_t CountInside(const Sample& s) {
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int64_t inside = 0;
  for (int64_t i = 0; i < s.points; ++i) {
    const double x = u(rng), y = u(rng);
    if (x * x + y * y <= 1.0) ++inside;
  }
  return inside;
}
PARALLELAGRAM_FUNCTION(CountInside);

int main(int argc, char** argv) {
  parallelagram::ServeIfWorker(argc, argv);
  parallelagram::ExecutorOptions opts;
  int tasks = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--aws") == 0) {
      opts.backend = "aws";
      opts.function_name = argv[i + 1];
    } else if (std::strcmp(argv[i], "--tasks") == 0) {
      tasks = std::stoi(argv[i + 1]);
    }
  }
  std::vector<Sample> samples;
  for (int i = 0; i < tasks; ++i) samples.push_back({static_cast<uint64_t>(i) + 1, 100000});

  parallelagram::Executor ex(opts);
  std::vector<parallelagram::Future<int64_t>> fs = ex.Map(CountInside, samples);
  int64_t inside = 0, total = 0;
  try {
    for (size_t i = 0; i < fs.size(); ++i) {
      inside += fs[i].get();
      total += samples[i].points;
    }
  } catch (const parallelagram::TaskError& e) {
    std::fprintf(stderr, "monte_carlo_pi: %s\n", e.what());
    return 1;
  }
  std::printf("pi ~ %.6f from %lld points in %d tasks (job %s)\n",
              4.0 * static_cast<double>(inside) / static_cast<double>(total),
              static_cast<long long>(total), tasks, ex.job_id().c_str());
  std::printf("inside %lld\n", static_cast<long long>(inside));
  return 0;
}
