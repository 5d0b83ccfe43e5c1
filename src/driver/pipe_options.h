// The options of `run --pipe` / `--pipe-part` (run_options.h): what they need, what they
// exclude, and the BlockRules (block_splitter.h) they give. Thread-safety: free functions.
#pragma once

#include "driver/block_splitter.h"
#include "driver/run_options.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// Checks --pipe / --pipe-part against the other options (one-line InvalidArgument naming the
// option: ::: values, several files, -N/-L with --pipe-part, input-shaping options, a bad
// --regexp or --header ...), and --recstart/--recend/--regexp/--block without them. Sets
// o.pipe_input and o.pipe (for --pipe-part too) and clears o.sources: a pipe job's tasks are
// its blocks. Nothing to do for other jobs.
Status CheckPipeOptions(RunOptions& o);

// The block rules of `o` (-N records, -L lines, --header and the separators).
BlockRules BlockRulesOf(const RunOptions& o);

}  // namespace parallelagram::driver
