// CommandTemplate: the COMMAND ARGS... of `parallelagram run`, with GNU parallel's
// replacement strings, expanded once per task.
//
// Replacement strings: {} {.} {/} {//} {/.} {#} {%} and, per input source N (1-based),
// {N} {N.} {N/} {N//} {N/.}. `{}` and friends stand for all of a task's inputs joined by
// a space (GNU parallel); with several sources use {1} {2}. When the template holds no
// replacement string, each input is appended as one more argument.
//
// Without a shell every template word becomes exactly one argv word: inputs are substituted
// literally and never re-split or interpreted. With a shell (`--shell`) the words are joined
// by spaces into one shell command line and every substituted input is shell-quoted as GNU
// parallel quotes it, so that the shell sees it as one word.
//
// Several values per task (ArgMode, set by the caller for --colsep/--header/-N/-n/-X/-m/
// --xargs/-L; arg_shaping.h): {N} is the task's N-th value (empty, and without a shell no
// word at all when nothing else is in the word, past the last one, as GNU parallel's shell
// sees it); in kMulti `{}` and friends are every value, each its own argv word (the word's
// text before and after joins the first and the last: pre{}post -> prea b cpost); in
// kContext (-X, -N, -L) a word holding `{}` or friends is repeated once per value (pre{}post
// -> preapost prebpost precpost).
//
// Unknown replacement strings (`{foo}`, `{3}` with two sources) are rejected by Parse with
// InvalidArgument. Braces that cannot be a replacement string (`{print $1}`) stay literal.
// Thread-safety: immutable after Parse; Expand is const.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::driver {

// Quotes `s` for a POSIX shell as GNU parallel does: unchanged when it is non-empty and
// made only of [A-Za-z0-9_+-./], otherwise in single quotes with ' written as '"'"'.
std::string ShellQuote(const std::string& s);

// What one task's inputs look like to the expander.
struct TaskInputs {
  int64_t seq = 1;                  // {#}: 1-based position in the job
  int slot = 1;                     // {%}: 1-based job slot
  std::vector<std::string> values;  // one per input source
};

class CommandTemplate {
 public:
  // Parse's `num_sources` when a task may hold any number of values ({N} is not checked).
  static constexpr int kAnyPosition = 999999;
  enum class ArgMode { kSingle, kMulti, kContext };

  // `words` is COMMAND ARGS...; `num_sources` the number of input sources.
  static Result<CommandTemplate> Parse(std::vector<std::string> words, int num_sources, bool shell);

  // Without a shell: the argv to exec. With a shell: one element, the command line.
  std::vector<std::string> Expand(const TaskInputs& in) const;
  // A human- and shell-readable rendering of Expand(in): the shell line itself, or the
  // argv with each word shell-quoted. Used by --dry-run and the joblog's Command column.
  std::string Describe(const TaskInputs& in) const;

  // How `{}` and friends take several values (default kSingle: one word, joined by spaces).
  void set_arg_mode(ArgMode mode) { mode_ = mode; }
  // For -X/-m/--xargs's line length: the command line's length with no values, and what one
  // more value adds to it (quoted as for a shell, at every replacement string that takes it).
  size_t BaseLineLength() const;
  size_t ValueLineCost(const std::string& value) const;

  bool shell() const { return shell_; }
  bool has_replacements() const { return has_replacements_; }
  // False: a command without replacement strings gets no inputs appended (--pipe: a task's
  // input is its stdin, as in GNU parallel). Default true.
  void set_append_inputs(bool append) { append_ = append; }

  // Replacement-string-free helpers, exposed for tests and --return/--transferfile paths.
  // Applies the {.} {/} {//} {/.} transformations to one value; `op` is "", ".", "/", "//", "/.".
  static std::string Transform(const std::string& value, const std::string& op);

 private:
  // A word is a list of pieces: literal text, or a replacement.
  struct Piece {
    bool literal = true;
    std::string text;  // literal text
    int source = 0;    // 0: all sources ({}), N: {N}
    std::string op;    // "", ".", "/", "//", "/.", "#", "%"
  };
  std::string ExpandWord(const std::vector<Piece>& word, const TaskInputs& in, bool quote) const;
  // Several values (ArgMode kMulti/kContext): the word's argv words (no shell) or shell text
  // pieces, appended to `out`.
  void ExpandWordMulti(const std::vector<Piece>& word, const TaskInputs& in, bool quote,
                       std::vector<std::string>* out) const;
  static bool TakesValues(const std::vector<Piece>& word);
  // kContext with a shell: one copy of a whitespace-delimited part, `{}` standing for value
  // `only` (-1: every value), quoted.
  void ExpandContextCopy(const std::vector<Piece>& sub, const TaskInputs& in, int64_t only,
                         std::vector<std::string>* out) const;

  std::vector<std::vector<Piece>> words_;
  bool shell_ = false;
  bool has_replacements_ = false;
  bool append_ = true;
  bool appends() const { return append_ && !has_replacements_; }
  ArgMode mode_ = ArgMode::kSingle;
};

// With --shell, inputs are quoted already: a template that puts a replacement string inside
// quotes ('echo "{}"') undoes that quoting, so an input's $(...) or `...` runs (as with GNU
// parallel). Returns a one-line warning naming the first such replacement string, or "" when
// there is none ({#} and {%} are numbers: quoting them is harmless).
std::string QuotedReplacementWarning(const std::vector<std::string>& shell_words);

// Expands a path template such as "{}.out" or "out/{1/.}.txt" for one task, without quoting
// (used by --transferfile and --return). Fails like CommandTemplate::Parse.
Result<std::string> ExpandPath(const std::string& path_template, const TaskInputs& in,
                               int num_sources);

}  // namespace parallelagram::driver
