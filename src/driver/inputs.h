// Input sources of `parallelagram run` and how they combine into tasks.
//
// A source is the values after one `:::`, or the lines of one `:::: FILE` (`-` is stdin).
// Several sources combine as GNU parallel does: the cartesian product, the last source
// varying fastest, or pairwise with --link (shorter sources are recycled up to the length
// of the longest). Values are kept byte for byte; they are never re-split.
// Thread-safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::driver {

struct InputSource {
  std::string origin;  // "::: (source 1)" or the file name, for messages
  std::vector<std::string> values;
  // Non-empty: the values are not read yet; they stream from this file ("-": stdin) while the
  // job runs (input_feed.h). Only the last source streams.
  std::string stream_path;
  // False for a recorded streamed source whose reading had not ended when the job stopped
  // (resume.h): its values are the ones read up to then.
  bool complete = true;
  // What ends a value in a file or stdin: '\n' (a '\r' before it is dropped too), or the
  // byte of -0/--null ('\0') or -d/--delimiter.
  char delimiter = '\n';
};

// Reads one value per line from `path` ("-": stdin). A trailing "\r\n" or "\n" is removed
// from each line; a last line without a newline still counts. Fails with NotFound or
// PermissionDenied naming the file when it cannot be read.
Result<InputSource> ReadInputFile(const std::string& path, char delimiter = '\n');
// Checks that `path` exists, is not a directory and is readable (the errors of
// ReadInputFile), without opening it.
Status CheckInputFile(const std::string& path);
// Same, from an open stream (used for stdin and by tests).
InputSource ReadInputStream(std::FILE* f, const std::string& origin, char delimiter = '\n');

// The number of tasks the sources make (product or linked), saturating at INT64_MAX.
int64_t CountTasks(const std::vector<InputSource>& sources, bool link);

// The values of task `index` (0-based) for the product or linked combination.
// Requires index < CountTasks(...).
std::vector<std::string> TaskValues(const std::vector<InputSource>& sources, bool link,
                                    int64_t index);

}  // namespace parallelagram::driver
