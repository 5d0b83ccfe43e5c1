// Block splitting for --pipe and --pipe-part: how GNU parallel (20221122) cuts its input into
// blocks at record boundaries, so that the same options give the same blocks.
//
// Records: a split may fall only where --recend is followed by --recstart (neither given:
// recend "\n"; only one given: the other is ""). Plain strings take the escapes \n \t \r \0
// \\ \' \" as GNU parallel's do; with --regexp both are ECMAScript regular expressions.
//   --pipe, by size (--block B): read until the buffer holds a multiple of B bytes, cut after
//     the last record boundary in it; a buffer with no boundary grows the block (x1.3 + 1,
//     with a warning) until one fits.
//   --pipe -N R: blocks of R records, whatever their size (-N R -L L: R x L lines).
//   --pipe -L L: by size, but cut only after a multiple of L lines.
//   --header : | N | REGEX: the header (the first line, the first N lines, or what REGEX
//     matches at the start) is taken off the input and given with every block.
//   --pipe-part (SplitPositions): split points found by reading only around each multiple of
//     B: the first record boundary at or after it.
// Deliberate difference: with --regexp, --pipe-part splits at the first boundary after each
// multiple of B (GNU parallel's regexp takes the last one within 128 KB of it).
// Thread-safety: a BlockSplitter is for one thread; the free functions are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::driver {

struct BlockRules {
  int64_t block_size = 1 << 20;  // --block (bytes, > 0)
  std::string recstart, recend;  // as given (escapes not yet decoded)
  bool recstart_set = false, recend_set = false;
  bool regexp = false;  // --regexp
  int64_t records = 0;  // -N: records per block; 0: by size
  int64_t lines = 0;    // -L: lines per record; 0: none
  std::string header;   // --header: "" none, ":" the first line, "N" N lines, else a regex
};

// "1M" -> 1048576: a number (a fraction too) with GNU parallel's prefixes: K M G T P (and
// Ki Mi ...) are powers of 1024, k m g t p of 1000. InvalidArgument naming `option` when it
// is not such a number or is below `min`.
Result<int64_t> ParseSize(const std::string& text, const std::string& option, int64_t min);

class BlockSplitter {
 public:
  // Checks the rules (a --regexp or --header regex that does not compile; sizes): one-line
  // InvalidArgument naming the option.
  static Result<std::unique_ptr<BlockSplitter>> Make(const BlockRules& rules);

  // Reads everything `read` gives (it returns bytes read, 0 at the end, < 0 on error with
  // errno set) and calls `emit(header, body)` for each block in order; `header` is the same
  // for all (empty without --header). A block is never empty. `warn` gets GNU parallel's
  // "A record was longer than B. Increasing to --blocksize B'." lines. Stops at the first
  // error of `read` (IoError) or of `emit` (returned as it is).
  Status Run(const std::function<int64_t(char*, size_t)>& read,
             const std::function<Status(std::string_view header, std::string_view body)>& emit,
             const std::function<void(const std::string&)>& warn = {});

  // --pipe-part: the block boundaries of a file of `size` bytes read through `read_at`
  // (offset, max bytes -> bytes; "" past the end), after its header: {start, b1, ..., size},
  // and the header in *header. Every part [p[i], p[i+1]) is then one block (with the header).
  Result<std::vector<int64_t>> SplitPositions(
      int64_t size, const std::function<Result<std::string>(int64_t, size_t)>& read_at,
      std::string* header);

  // The decoded separators (tests).
  const std::string& recstart() const { return recstart_; }
  const std::string& recend() const { return recend_; }

 private:
  explicit BlockSplitter(const BlockRules& r) : rules_(r) {}
  // Where the header ends in `buf` (0: none yet / none asked); -1: not found yet.
  int64_t HeaderEnd(std::string_view buf, bool eof) const;
  // The cut position of the size-based pass in `buf` (0: none).
  size_t CutBySize(std::string_view buf) const;
  // The cut after the n-th boundary, searching from position 1 (GNU's nindex); 0: none.
  size_t CutAfterRecords(std::string_view buf, int64_t n) const;
  // The cut after the largest multiple of L lines; 0: none.
  size_t CutAfterLines(std::string_view buf) const;
  // The first boundary at or after `from` in `buf`: the split position, or npos.
  size_t FirstBoundary(std::string_view buf, size_t from) const;

  BlockRules rules_;
  std::string recstart_, recend_, sep_;  // decoded; sep_ = recend_ + recstart_ (plain)
  struct Regexes;                        // <regex> stays in the .cc
  std::shared_ptr<const Regexes> re_;
  int header_lines_ = 0;  // --header : | N
  bool header_regex_ = false;
};

}  // namespace parallelagram::driver
