// ArgShaping: how input values become a task's arguments, as GNU parallel 20221122 makes
// them, for --header, -E, --trim, --colsep (per input) and -N/-n/-X/-m/--xargs/-L (several
// inputs per task).
//
// The pipeline (InputFeed runs it; every step is deterministic, so a resume recomputes the
// same tasks from the recorded raw inputs and options):
//   1. per source, before the sources combine (SourceValueFilter): with --header the first
//      value names the source's columns and is no input; a value equal to -E's string ends
//      the source; with -L a value ending in whitespace continues with the next one.
//   2. per record (one value per source, combined as inputs.h says): each value split at
//      --colsep (std::regex, ECMAScript; --header without --colsep splits at a TAB, as GNU
//      does) and each column trimmed (--trim; --colsep implies lr): the record's flattened
//      values are the positions {1} {2} ...
//   3. grouping (ArgGrouper): -N/-n/-L N records per task; -X/-m/--xargs as many as fit in
//      kMaxLineBytes, and -X/-m spread the last fill over the job slots as GNU does (once
//      the input ends during a fill of n > 1 records, every task takes ceil(n / slots)).
//      A task's values are its records' values, flattened; {#} counts tasks.
// Thread-safety: plain values; SourceValueFilter and ArgGrouper are for one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "driver/command_template.h"
#include "driver/inputs.h"
#include "driver/run_options.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// The longest command line -X/-m/--xargs fill (bytes, as a shell would see it: every value
// quoted, words joined by spaces). Under Linux's 128 KiB limit for one argument (a --shell
// line is one argument of /bin/sh -c) and near GNU parallel's own limit on Linux (130329
// here); an event this size is far under Lambda's 256 KB async payload (a larger one is
// spilled to the store anyway).
inline constexpr size_t kMaxLineBytes = 127 * 1024;

struct ArgShaping {
  // 1. Per source.
  bool header = false;          // --header (not "0"): the first value of each source is a header
  std::string eof;              // -E: a value equal to it ends its source ("" none)
  bool continue_lines = false;  // -L: a value ending in whitespace continues on the next
  // 2. Per value.
  std::string colsep;  // the column separator regex ("" none)
  bool trim_left = false, trim_right = false;
  // 3. Grouping.
  int64_t max_args = 0;  // records per task at most; 0: 1, or no cap with `fill`
  bool fill = false;     // -X/-m/--xargs: as many as fit in kMaxLineBytes
  bool spread = false;   // -X/-m: spread the last fill over `slots`
  int slots = 1;         // the job slots (the effective -j)
  // Bytes one value adds to the command line (fill); null: its length plus one.
  std::function<size_t(const std::string&)> value_cost;
  size_t base_cost = 0;  // the command line without values
  // Any of the above: the job's inputs go through the pipeline.
  bool active = false;
};

// The shaping the options ask for. `jobs`: the effective -j. `tmpl`: the parsed command, for
// the line length (null: values cost their length plus one).
ArgShaping ShapingOf(const RunOptions& o, int jobs, const CommandTemplate* tmpl);

// How the command's replacement strings take several values (CommandTemplate::ArgMode).
CommandTemplate::ArgMode ArgModeOf(const RunOptions& o);

// The highest {N} the command may use: the number of sources, or (with --colsep, --header
// or grouping, where a task may hold any number of values) CommandTemplate::kAnyPosition.
int PositionLimit(const RunOptions& o);

// Checks a --colsep/--header regex: InvalidArgument naming `opt` when std::regex (ECMAScript)
// cannot compile it or it is empty.
Status CheckRegex(const std::string& opt, const std::string& re);

// Step 1 for one source's values, fed one at a time.
class SourceValueFilter {
 public:
  explicit SourceValueFilter(const ArgShaping& s) : s_(s) {}
  enum class Got { kValue, kMore, kEnd };
  // kValue: `*out` is the next input; kMore: nothing yet (a header, a continued line);
  // kEnd: the source ends here (-E), `*out` unset; every later Feed says kEnd too.
  Got Feed(std::string v, std::string* out);
  // At the source's real end: a continued line still held (true, in `*out`).
  bool Flush(std::string* out);
  bool ended() const { return ended_; }  // -E's string was seen

 private:
  const ArgShaping& s_;
  bool header_seen_ = false;
  std::string prepend_;
  bool holding_ = false;
  bool ended_ = false;
};

// Step 1 for a source read whole: its values after the filter.
std::vector<std::string> FilterSource(const ArgShaping& s, const std::vector<std::string>& values);

// Step 2: a record's values split into columns and trimmed.
std::vector<std::string> ShapeRecord(const ArgShaping& s, const std::vector<std::string>& record);

// --header: the names of the positions, in order ("" for none), from each source's first
// value split at the column separator (trailing empty names dropped, as Perl's split does).
// Requires sources read whole.
std::vector<std::string> HeaderNames(const ArgShaping& s, const std::vector<InputSource>& sources);
// Rewrites {NAME} {NAME.} {NAME/} {NAME//} {NAME/.} to {N} ... in `words` (N: the 1-based
// position of NAME in `names`), as GNU parallel does before it parses the command.
void RewriteHeaderNames(const std::vector<std::string>& names, std::vector<std::string>* words);

// --header: the names in the command, --transferfile and --return rewritten to positions
// (HeaderNames of `o`'s sources, read whole). Nothing without --header.
void ApplyHeaderNames(RunOptions* o);

// Step 3.
class ArgGrouper {
 public:
  explicit ArgGrouper(const ArgShaping& s);
  void Add(std::vector<std::string> record);  // a shaped record
  void End();                                 // no more records
  // The next task's values, when one is ready (its records arrived, or the input ended).
  bool Next(std::vector<std::string>* values);
  size_t ready() const { return ready_.size(); }

 private:
  size_t Cost(const std::vector<std::string>& record) const;
  void Form();

  const ArgShaping& s_;
  std::deque<std::vector<std::string>> pending_;
  std::deque<std::vector<std::string>> ready_;
  int64_t cap_;  // 0: no cap
  bool ended_ = false, spread_done_ = false;
};

}  // namespace parallelagram::driver
