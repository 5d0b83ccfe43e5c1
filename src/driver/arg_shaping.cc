#include "driver/arg_shaping.h"

#include <algorithm>
#include <cctype>

// GCC 12 warns (maybe-uninitialized) inside libstdc++'s <regex> at -O1 and above: a known
// false positive (GCC bug 105562); std::regex is what the options specify.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>

#include "common/json_text.h"

namespace parallelagram::driver {
namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string TrimValue(const ArgShaping& s, std::string v) {
  if (s.trim_right) {
    while (!v.empty() && IsSpace(v.back())) v.pop_back();
  }
  if (s.trim_left) {
    size_t i = 0;
    while (i < v.size() && IsSpace(v[i])) ++i;
    v.erase(0, i);
  }
  return v;
}

// Perl's split /re/, $line (keep_trailing: split with a limit of -1): the pieces between
// matches. Empty matches do not split.
std::vector<std::string> SplitAt(const std::regex& re, const std::string& line,
                                 bool keep_trailing) {
  std::vector<std::string> out;
  size_t start = 0;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), re); it != std::sregex_iterator();
       ++it) {
    if (it->length(0) == 0) continue;
    const auto pos = static_cast<size_t>(it->position(0));
    out.push_back(line.substr(start, pos - start));
    start = pos + static_cast<size_t>(it->length(0));
  }
  out.push_back(line.substr(start));
  if (!keep_trailing) {
    while (!out.empty() && out.back().empty()) out.pop_back();
  }
  return out;
}

const std::regex& CachedRegex(const std::string& re) {
  // One shaping per job: compile once per distinct separator (a thread_local cache).
  thread_local std::string key;
  thread_local std::regex compiled;
  if (key != re || key.empty()) {
    compiled = std::regex(re, std::regex::ECMAScript);
    key = re;
  }
  return compiled;
}

}  // namespace

Status CheckRegex(const std::string& opt, const std::string& re) {
  if (re.empty()) {
    return Status::InvalidArgument(opt + " needs a regular expression, not an empty string; e.g. " +
                                   opt + " ','" + kRunHelpHint);
  }
  try {
    std::regex r(re, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(opt + " '" + EscapeForMessage(re) +
                                   "' is not a valid regular expression (ECMAScript): " + e.what() +
                                   "; fix or quote it");
  }
  return Status::Ok();
}

CommandTemplate::ArgMode ArgModeOf(const RunOptions& o) {
  if (o.pipe) return CommandTemplate::ArgMode::kSingle;  // -N, -L, --header shape blocks
  const bool grouped = o.max_args > 0 || o.max_lines > 0 || o.multi_x || o.multi_m || o.xargs;
  const bool shaped = grouped || o.colsep_set || o.header_set;
  if (!shaped) return CommandTemplate::ArgMode::kSingle;
  // GNU parallel: -X, -N and -L (unless -m or --xargs) repeat a word per value.
  const bool context =
      o.multi_x || (o.max_args > 0 && o.max_replace) || (o.max_lines > 0 && !o.multi_m && !o.xargs);
  return context ? CommandTemplate::ArgMode::kContext : CommandTemplate::ArgMode::kMulti;
}

int PositionLimit(const RunOptions& o) {
  if (ArgModeOf(o) != CommandTemplate::ArgMode::kSingle) return CommandTemplate::kAnyPosition;
  return std::max<int>(1, static_cast<int>(o.sources.size()));
}

ArgShaping ShapingOf(const RunOptions& o, int jobs, const CommandTemplate* tmpl) {
  ArgShaping s;
  if (o.pipe) return s;  // a --pipe task's input is its block
  s.active = ArgModeOf(o) != CommandTemplate::ArgMode::kSingle || !o.eof.empty() ||
             (!o.trim.empty() && o.trim != "n");
  s.header = o.header_set && o.header != "0";
  s.eof = o.eof;
  s.continue_lines = o.max_lines > 0;
  if (o.colsep_set) {
    s.colsep = o.colsep;
  } else if (o.header_set) {
    s.colsep = "\t";  // GNU parallel: --header splits at TABs without --colsep
  }
  // --colsep implies --trim lr (GNU parallel); --trim says otherwise.
  const std::string trim = !o.trim.empty() ? o.trim : o.colsep_set ? "lr" : "n";
  s.trim_left = trim.find('l') != std::string::npos;
  s.trim_right = trim.find('r') != std::string::npos;
  s.max_args = o.max_args > 0 ? o.max_args : o.max_lines;
  s.fill = o.multi_x || o.multi_m || o.xargs;
  s.spread = o.multi_x || o.multi_m;
  s.slots = std::max(1, jobs);
  if (tmpl != nullptr) {
    CommandTemplate t = *tmpl;
    s.base_cost = t.BaseLineLength();
    s.value_cost = [t](const std::string& v) { return t.ValueLineCost(v); };
  }
  return s;
}

SourceValueFilter::Got SourceValueFilter::Feed(std::string v, std::string* out) {
  if (ended_) return Got::kEnd;
  if (s_.header && !header_seen_) {
    header_seen_ = true;
    return Got::kMore;
  }
  if (!s_.eof.empty() && v == s_.eof) {
    ended_ = true;
    if (!holding_) return Got::kEnd;
    holding_ = false;
    *out = std::move(prepend_);  // GNU parallel: the continued line ends there
    prepend_.clear();
    return Got::kValue;  // the next Feed says kEnd
  }
  if (holding_) v = prepend_ + v;
  if (s_.continue_lines && !v.empty() && IsSpace(v.back())) {
    prepend_ = std::move(v);
    holding_ = true;
    return Got::kMore;
  }
  holding_ = false;
  prepend_.clear();
  *out = std::move(v);
  return Got::kValue;
}

bool SourceValueFilter::Flush(std::string* out) {
  if (!holding_) return false;
  holding_ = false;
  *out = std::move(prepend_);
  prepend_.clear();
  return true;
}

std::vector<std::string> FilterSource(const ArgShaping& s, const std::vector<std::string>& values) {
  SourceValueFilter f(s);
  std::vector<std::string> out;
  std::string v;
  for (const std::string& in : values) {
    SourceValueFilter::Got g = f.Feed(in, &v);
    if (g == SourceValueFilter::Got::kEnd) return out;
    if (g == SourceValueFilter::Got::kValue) out.push_back(std::move(v));
  }
  if (f.Flush(&v)) out.push_back(std::move(v));
  return out;
}

std::vector<std::string> ShapeRecord(const ArgShaping& s, const std::vector<std::string>& record) {
  std::vector<std::string> out;
  for (const std::string& v : record) {
    if (s.colsep.empty() || v.empty()) {
      out.push_back(TrimValue(s, v));
      continue;
    }
    for (std::string& col : SplitAt(CachedRegex(s.colsep), v, true)) {
      out.push_back(TrimValue(s, std::move(col)));
    }
  }
  return out;
}

std::vector<std::string> HeaderNames(const ArgShaping& s, const std::vector<InputSource>& sources) {
  std::vector<std::string> names;
  for (const InputSource& src : sources) {
    if (src.values.empty()) continue;
    const std::string& line = src.values.front();
    if (s.colsep.empty()) {
      names.push_back(line);
      continue;
    }
    for (std::string& n : SplitAt(CachedRegex(s.colsep), line, false)) names.push_back(n);
  }
  return names;
}

void RewriteHeaderNames(const std::vector<std::string>& names, std::vector<std::string>* words) {
  static const char* const kOps[] = {"", "/", "//", ".", "/."};
  for (size_t id = 0; id < names.size(); ++id) {
    if (names[id].empty()) continue;
    for (std::string& w : *words) {
      for (const char* op : kOps) {
        const std::string from = "{" + names[id] + op + "}";
        const std::string to = "{" + std::to_string(id + 1) + op + "}";
        for (size_t at = w.find(from); at != std::string::npos; at = w.find(from, at + to.size())) {
          w.replace(at, from.size(), to);
        }
      }
    }
  }
}

void ApplyHeaderNames(RunOptions* o) {
  if (!o->header_set || o->header == "0" || o->pipe) return;
  const std::vector<std::string> names = HeaderNames(ShapingOf(*o, 1, nullptr), o->sources);
  RewriteHeaderNames(names, &o->command);
  RewriteHeaderNames(names, &o->transferfiles);
  RewriteHeaderNames(names, &o->returns);
}

ArgGrouper::ArgGrouper(const ArgShaping& s) : s_(s), cap_(s.max_args > 0 ? s.max_args : 0) {
  if (cap_ == 0 && !s_.fill) cap_ = 1;
}

size_t ArgGrouper::Cost(const std::vector<std::string>& record) const {
  size_t c = 0;
  for (const std::string& v : record) c += s_.value_cost ? s_.value_cost(v) : v.size() + 1;
  return c;
}

void ArgGrouper::Add(std::vector<std::string> record) {
  pending_.push_back(std::move(record));
  Form();
}

void ArgGrouper::End() {
  ended_ = true;
  Form();
}

void ArgGrouper::Form() {
  while (!pending_.empty()) {
    size_t len = s_.base_cost;
    size_t n = 0;
    bool full = false;
    while (n < pending_.size()) {
      if (cap_ > 0 && static_cast<int64_t>(n) >= cap_) {
        full = true;
        break;
      }
      const size_t c = Cost(pending_[n]);
      if (n > 0 && len + c > kMaxLineBytes) {
        full = true;
        break;
      }
      len += c;
      ++n;
    }
    if (!full && cap_ > 0 && static_cast<int64_t>(n) >= cap_) full = true;
    if (!full && !ended_) return;  // more may fit: wait for records or the end
    const bool drains = n == pending_.size();
    if (s_.spread && !spread_done_) {
      // GNU parallel spreads the fill that empties the input over the job slots; whether
      // this one does is known only once the input ended or another record is waiting.
      if (drains && !ended_) return;
      if (drains) {
        spread_done_ = true;
        if (n > 1) {
          cap_ = static_cast<int64_t>((n + static_cast<size_t>(s_.slots) - 1) /
                                      static_cast<size_t>(s_.slots));
          n = std::min(n, static_cast<size_t>(cap_));
        }
      }
    }
    std::vector<std::string> values;
    for (size_t k = 0; k < n; ++k) {
      for (std::string& v : pending_.front()) values.push_back(std::move(v));
      pending_.pop_front();
    }
    ready_.push_back(std::move(values));
  }
}

bool ArgGrouper::Next(std::vector<std::string>* values) {
  if (ready_.empty()) return false;
  *values = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

}  // namespace parallelagram::driver

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
