#include "driver/pipe_options.h"

#include "driver/block_splitter.h"

namespace parallelagram::driver {
BlockRules BlockRulesOf(const RunOptions& o) {
  BlockRules r;
  r.block_size = o.block_size;
  r.recstart = o.recstart;
  r.recend = o.recend;
  r.recstart_set = o.recstart_set;
  r.recend_set = o.recend_set;
  r.regexp = o.regexp;
  r.records = o.max_args;
  r.lines = o.max_lines;
  r.header = o.header_set && o.header != "0" ? o.header : "";
  return r;
}

// --pipe / --pipe-part: what they need and what they exclude. Sets o.pipe_input (and
// o.pipe for --pipe-part); leaves o.sources empty (a pipe job's tasks are its blocks).
Status CheckPipeOptions(RunOptions& o) {
  const bool pipe = o.pipe || o.pipe_part;
  if (!pipe) {
    const char* only = o.recstart_set ? "--recstart"
                       : o.recend_set ? "--recend"
                       : o.regexp     ? "--regexp"
                                      : nullptr;
    if (only) {
      return Status::InvalidArgument(std::string(only) +
                                     " says where --pipe may cut its input; add --pipe (or "
                                     "--pipe-part -a FILE), or drop it" +
                                     kRunHelpHint);
    }
    if (o.block_set) {
      return Status::InvalidArgument(
          std::string("--block sizes the blocks of --pipe and --pipe-part; add one of them") +
          kRunHelpHint);
    }
    return Status::Ok();
  }
  const char* word = o.pipe_part ? "--pipe-part" : "--pipe";
  for (const InputSource& s : o.sources) {
    if (s.stream_path.empty()) {
      return Status::InvalidArgument(std::string(word) +
                                     " splits one input into blocks, each a task's stdin; "
                                     "':::' values have no place: drop them" +
                                     kRunHelpHint);
    }
  }
  if (o.sources.size() > 1) {
    return Status::InvalidArgument(std::string(word) + " splits one input; give one file (-a " +
                                   "FILE), not " + std::to_string(o.sources.size()) + kRunHelpHint);
  }
  if (o.pipe_part && o.sources.empty()) {
    return Status::InvalidArgument(
        "--pipe-part splits a file without reading it all: name it with -a FILE (a local "
        "file or s3://BUCKET/KEY); for stdin use --pipe" +
        std::string(kRunHelpHint));
  }
  if (o.pipe_part && (o.max_args > 0 || o.max_lines > 0)) {
    return Status::InvalidArgument(
        "--pipe-part splits by size only and is incompatible with -N, -n and -L (as in GNU "
        "parallel); use --pipe to count records" +
        std::string(kRunHelpHint));
  }
  if (!o.pipe_part && o.block_slices > 0) {
    return Status::InvalidArgument(
        "a negative --block (blocks per job slot) needs --pipe-part: the size of stdin is not "
        "known" +
        std::string(kRunHelpHint));
  }
  const char* excluded = o.multi_x                  ? "-X"
                         : o.multi_m                ? "-m"
                         : o.xargs                  ? "--xargs"
                         : o.colsep_set             ? "--colsep"
                         : !o.trim.empty()          ? "--trim"
                         : !o.eof.empty()           ? "-E"
                         : o.link                   ? "--link"
                         : !o.transferfiles.empty() ? "--transferfile"
                                                    : nullptr;
  if (excluded) {
    return Status::InvalidArgument(std::string(excluded) +
                                   " shapes input values into arguments; "
                                   "with " +
                                   word + " a task reads its block on stdin: drop it" +
                                   kRunHelpHint);
  }
  if (o.null_input || !o.delimiter.empty()) {
    return Status::InvalidArgument(std::string(word) + " cuts at --recend/--recstart, not at " +
                                   (o.null_input ? "-0" : "-d") + ": use --recend '\\0'" +
                                   kRunHelpHint);
  }
  PG_RETURN_IF_ERROR(BlockSplitter::Make(BlockRulesOf(o)).status());
  if (o.pipe_part && !o.block_set) o.block_slices = 10;  // GNU: 10 blocks per job slot
  o.pipe = true;
  o.pipe_input = o.sources.empty() ? "-" : o.sources[0].stream_path;
  o.sources.clear();
  return Status::Ok();
}

}  // namespace parallelagram::driver
