#include "driver/command_template.h"

#include <cctype>

namespace parallelagram::driver {
namespace {

bool SafeUnquoted(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
         c == '.' || c == '/';
}

std::string RemoveExtension(const std::string& v) {
  // GNU parallel: s:\.[^/.]*$::
  size_t dot = v.find_last_of("./");
  if (dot == std::string::npos || v[dot] != '.') return v;
  return v.substr(0, dot);
}

std::string Basename(const std::string& v) {
  size_t slash = v.rfind('/');
  return slash == std::string::npos ? v : v.substr(slash + 1);
}

// Perl's File::Basename::dirname, which GNU parallel uses for {//}.
std::string Dirname(std::string v) {
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  size_t slash = v.rfind('/');
  if (slash == std::string::npos) return ".";
  v.resize(slash);
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  if (v.empty()) return "/";
  return v;
}

const char* kKnown = "{} {.} {/} {//} {/.} {#} {%} {N} {N.} {N/} {N//} {N/.}";

bool IsOp(const std::string& s) {
  return s.empty() || s == "." || s == "/" || s == "//" || s == "/.";
}

// Looks like someone meant a replacement string: {word} with no spaces or shell syntax.
bool LooksLikeReplacement(const std::string& inner) {
  if (inner.empty()) return true;
  for (char c : inner) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
          c == '#' || c == '%' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string ShellQuote(const std::string& s) {
  bool safe = !s.empty();
  for (char c : s) {
    if (!SafeUnquoted(c)) {
      safe = false;
      break;
    }
  }
  if (safe) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string QuotedReplacementWarning(const std::vector<std::string>& shell_words) {
  std::string line;
  for (const auto& w : shell_words) line += (line.empty() ? "" : " ") + w;
  char quote = 0;  // 0, '\'' or '"'
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != '\'' && c == '\\') {
      ++i;  // an escaped character
      continue;
    }
    if (quote == 0 && (c == '\'' || c == '"')) {
      quote = c;
      continue;
    }
    if (quote != 0 && c == quote) {
      quote = 0;
      continue;
    }
    if (quote == 0 || c != '{') continue;
    size_t close = line.find('}', i + 1);
    if (close == std::string::npos) continue;
    std::string inner = line.substr(i + 1, close - i - 1);
    if (!LooksLikeReplacement(inner) || inner == "#" || inner == "%") continue;
    std::string rs = "{" + inner + "}";
    return "warning: inputs are quoted already: remove the quotes around " + rs +
           " (inside quotes an input's $(...) and `...` run)";
  }
  return "";
}

std::string CommandTemplate::Transform(const std::string& value, const std::string& op) {
  if (op.empty()) return value;
  if (op == ".") return RemoveExtension(value);
  if (op == "/") return Basename(value);
  if (op == "//") return Dirname(value);
  if (op == "/.") return RemoveExtension(Basename(value));
  return value;
}

Result<CommandTemplate> CommandTemplate::Parse(std::vector<std::string> words, int num_sources,
                                               bool shell) {
  if (words.empty()) {
    return Status::InvalidArgument(
        "no command given; write it after the options, e.g. 'parallelagram run -- gzip ::: a b'");
  }
  CommandTemplate t;
  t.shell_ = shell;
  for (const std::string& w : words) {
    std::vector<Piece> pieces;
    std::string lit;
    size_t i = 0;
    while (i < w.size()) {
      if (w[i] != '{') {
        lit += w[i++];
        continue;
      }
      size_t close = w.find('}', i + 1);
      if (close == std::string::npos) {
        lit += w[i++];
        continue;
      }
      std::string inner = w.substr(i + 1, close - i - 1);
      if (!LooksLikeReplacement(inner)) {
        lit += w[i++];
        continue;
      }
      Piece p;
      p.literal = false;
      if (inner == "#" || inner == "%") {
        p.op = inner;
      } else {
        size_t digits = 0;
        while (digits < inner.size() && std::isdigit(static_cast<unsigned char>(inner[digits]))) {
          ++digits;
        }
        std::string op = inner.substr(digits);
        if (!IsOp(op) || (digits > 0 && inner[0] == '0') || digits > 6) {
          return Status::InvalidArgument("unknown replacement string '{" + inner +
                                         "}' in the command; use one of " + kKnown);
        }
        p.op = op;
        if (digits > 0) {
          p.source = std::stoi(inner.substr(0, digits));
          if (p.source > num_sources) {
            return Status::InvalidArgument(
                "replacement string '{" + inner + "}' refers to input source " +
                std::to_string(p.source) + " but there " +
                (num_sources == 1 ? "is 1 source"
                                  : "are " + std::to_string(num_sources) + " sources") +
                "; add more ':::' or '::::' sources or use {1}..{" + std::to_string(num_sources) +
                "}");
          }
        }
      }
      if (!lit.empty()) pieces.push_back(Piece{true, std::move(lit), 0, ""});
      lit.clear();
      t.has_replacements_ = true;
      pieces.push_back(std::move(p));
      i = close + 1;
    }
    if (!lit.empty() || pieces.empty()) pieces.push_back(Piece{true, std::move(lit), 0, ""});
    t.words_.push_back(std::move(pieces));
  }
  return t;
}

std::string CommandTemplate::ExpandWord(const std::vector<Piece>& word, const TaskInputs& in,
                                        bool quote) const {
  std::string out;
  for (const Piece& p : word) {
    if (p.literal) {
      out += p.text;
      continue;
    }
    std::string v;
    if (p.op == "#") {
      v = std::to_string(in.seq);
    } else if (p.op == "%") {
      v = std::to_string(in.slot);
    } else if (p.source > 0) {
      if (static_cast<size_t>(p.source) > in.values.size()) continue;  // past the last: empty
      v = Transform(in.values[p.source - 1], p.op);
    } else {
      // {} with several sources: the values joined by a space, each transformed (and
      // quoted) on its own, as GNU parallel does.
      for (size_t k = 0; k < in.values.size(); ++k) {
        if (k) v += ' ';
        std::string one = Transform(in.values[k], p.op);
        v += quote ? ShellQuote(one) : one;
      }
      out += v;
      continue;
    }
    out += quote ? ShellQuote(v) : v;
  }
  return out;
}

bool CommandTemplate::TakesValues(const std::vector<Piece>& word) {
  for (const Piece& p : word) {
    if (!p.literal && p.source == 0 && p.op != "#" && p.op != "%") return true;
  }
  return false;
}

void CommandTemplate::ExpandWordMulti(const std::vector<Piece>& word, const TaskInputs& in,
                                      bool quote, std::vector<std::string>* out) const {
  // `only`: in kContext, the value `{}` stands for in this copy of the word (-1: all).
  auto expand = [&](int64_t only, std::vector<std::string>* words) {
    std::string cur;
    bool kept = false;  // anything but a missing position: the word stays
    for (const Piece& p : word) {
      if (p.literal) {
        cur += p.text;
        kept = kept || !p.text.empty();
        continue;
      }
      if (p.op == "#" || p.op == "%") {
        cur += std::to_string(p.op == "#" ? in.seq : in.slot);
        kept = true;
        continue;
      }
      if (p.source > 0) {
        if (static_cast<size_t>(p.source) > in.values.size()) continue;  // GNU: nothing
        const std::string v = Transform(in.values[static_cast<size_t>(p.source - 1)], p.op);
        cur += quote ? ShellQuote(v) : v;
        kept = true;
        continue;
      }
      kept = true;
      const size_t first = only >= 0 ? static_cast<size_t>(only) : 0;
      const size_t last = only >= 0 ? first + 1 : in.values.size();
      for (size_t k = first; k < last; ++k) {
        if (k > first) {  // the shell would split here: a new word
          if (quote) {
            cur += ' ';
          } else {
            words->push_back(std::move(cur));
            cur.clear();
          }
        }
        const std::string v = Transform(in.values[k], p.op);
        cur += quote ? ShellQuote(v) : v;
      }
    }
    if (kept || quote) words->push_back(std::move(cur));
  };
  if (mode_ != ArgMode::kContext || !TakesValues(word)) {
    expand(-1, out);
    return;
  }
  if (!quote) {  // an argv word: repeated whole
    for (size_t k = 0; k < in.values.size(); ++k) expand(static_cast<int64_t>(k), out);
    return;
  }
  // A shell command line: as GNU parallel, the word repeated is the whitespace-delimited
  // part of the line that holds the replacement string ('echo p{} | tr' -> 'echo pa pb | tr').
  std::string line;
  std::vector<Piece> sub;  // the current whitespace-delimited part
  auto flush = [&] {
    if (sub.empty()) return;
    std::vector<std::string> parts;
    if (TakesValues(sub)) {
      for (size_t k = 0; k < in.values.size(); ++k) {
        ExpandContextCopy(sub, in, static_cast<int64_t>(k), &parts);
      }
    } else {
      ExpandContextCopy(sub, in, -1, &parts);
    }
    for (size_t i = 0; i < parts.size(); ++i) line += (i ? " " : "") + parts[i];
    sub.clear();
  };
  for (const Piece& p : word) {
    if (!p.literal) {
      sub.push_back(p);
      continue;
    }
    std::string text;
    for (char c : p.text) {
      if (c == ' ' || c == '\t' || c == '\n') {
        if (!text.empty()) sub.push_back(Piece{true, std::move(text), 0, ""});
        text.clear();
        flush();
        line += c;
      } else {
        text += c;
      }
    }
    if (!text.empty()) sub.push_back(Piece{true, std::move(text), 0, ""});
  }
  flush();
  out->push_back(std::move(line));
}

void CommandTemplate::ExpandContextCopy(const std::vector<Piece>& sub, const TaskInputs& in,
                                        int64_t only, std::vector<std::string>* out) const {
  std::string cur;
  for (const Piece& p : sub) {
    if (p.literal) {
      cur += p.text;
    } else if (p.op == "#" || p.op == "%") {
      cur += std::to_string(p.op == "#" ? in.seq : in.slot);
    } else if (p.source > 0) {
      if (static_cast<size_t>(p.source) <= in.values.size()) {
        cur += ShellQuote(Transform(in.values[static_cast<size_t>(p.source - 1)], p.op));
      }
    } else {
      for (size_t k = 0; k < in.values.size(); ++k) {
        if (only >= 0 && k != static_cast<size_t>(only)) continue;
        if (only < 0 && k > 0) cur += ' ';
        cur += ShellQuote(Transform(in.values[k], p.op));
      }
    }
  }
  out->push_back(std::move(cur));
}

size_t CommandTemplate::BaseLineLength() const {
  size_t n = 0;
  for (const auto& w : words_) {
    n += 1;                                                      // the space before it
    if (mode_ == ArgMode::kContext && TakesValues(w)) continue;  // counted per value
    for (const Piece& p : w) n += p.literal ? p.text.size() : 0;
  }
  return n;
}

size_t CommandTemplate::ValueLineCost(const std::string& value) const {
  const size_t q = ShellQuote(value).size();
  if (!has_replacements_) return q + 1;  // appended
  size_t n = 0;
  for (const auto& w : words_) {
    if (!TakesValues(w)) continue;
    size_t uses = 0, literal = 0;
    for (const Piece& p : w) {
      if (p.literal) literal += p.text.size();
      if (!p.literal && p.source == 0 && p.op != "#" && p.op != "%") ++uses;
    }
    n += mode_ == ArgMode::kContext ? literal + 1 + uses * q : uses * (q + 1);
  }
  return n;
}

std::vector<std::string> CommandTemplate::Expand(const TaskInputs& in) const {
  if (mode_ != ArgMode::kSingle) {
    std::vector<std::string> words;
    for (const auto& w : words_) ExpandWordMulti(w, in, shell_, &words);
    if (appends()) {
      for (const auto& v : in.values) words.push_back(shell_ ? ShellQuote(v) : v);
    }
    if (!shell_) return words;
    std::string line;
    for (size_t i = 0; i < words.size(); ++i) line += (i ? " " : "") + words[i];
    return {line};
  }
  if (shell_) {
    std::string line;
    for (size_t i = 0; i < words_.size(); ++i) {
      if (i) line += ' ';
      line += ExpandWord(words_[i], in, true);
    }
    if (appends()) {
      for (const auto& v : in.values) line += ' ' + ShellQuote(v);
    }
    return {line};
  }
  std::vector<std::string> argv;
  argv.reserve(words_.size() + (appends() ? in.values.size() : 0));
  for (const auto& w : words_) argv.push_back(ExpandWord(w, in, false));
  if (appends()) {
    for (const auto& v : in.values) argv.push_back(v);
  }
  return argv;
}

std::string CommandTemplate::Describe(const TaskInputs& in) const {
  std::vector<std::string> e = Expand(in);
  if (shell_) return e[0];
  std::string out;
  for (size_t i = 0; i < e.size(); ++i) {
    if (i) out += ' ';
    out += ShellQuote(e[i]);
  }
  return out;
}

Result<std::string> ExpandPath(const std::string& path_template, const TaskInputs& in,
                               int num_sources) {
  PG_ASSIGN_OR_RETURN(CommandTemplate t,
                      CommandTemplate::Parse({path_template}, num_sources, false));
  if (!t.has_replacements()) return path_template;
  return t.Expand(in)[0];
}

}  // namespace parallelagram::driver
