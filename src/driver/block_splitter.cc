#include "driver/block_splitter.h"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

// GCC 12 warns (maybe-uninitialized) inside libstdc++'s <regex> at -O1 and above: a known
// false positive (GCC bug 105562), as in arg_shaping.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>

namespace parallelagram::driver {

struct BlockSplitter::Regexes {
  std::regex boundary;  // --regexp: (?:recend)(?=(?:recstart))
  std::regex recstart;  // --regexp: (?:recstart)
  std::regex header;    // --header REGEX
};

namespace {

constexpr int64_t kMaxBlock = (int64_t{1} << 31) - 1;  // GNU parallel's 2 GB - 1
constexpr size_t kPartProbe = 131072;                  // --pipe-part reads 128 KB at a time

// GNU parallel's escapes in --recstart/--recend: \0 \r \n \t \' \" \\.
std::string DecodeEscapes(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[i + 1];
      const char* from = "0rnt'\"\\";
      const char* to = "\0\r\n\t'\"\\";
      if (const char* p = std::strchr(from, c); p != nullptr && c != '\0') {
        out.push_back(to[p - from]);
        ++i;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// A byte buffer that grows without zero-filling what a read is about to overwrite.
class ByteBuffer {
 public:
  size_t size() const { return len_; }
  std::string_view view() const { return {data_.get(), len_}; }
  // Room for `n` more bytes after size(); the caller writes them, then Commit()s.
  char* Reserve(size_t n) {
    if (len_ + n > cap_) {
      const size_t cap = std::max(len_ + n, cap_ * 2);
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (len_ > 0) std::memcpy(bigger.get(), data_.get(), len_);
      data_ = std::move(bigger);
      cap_ = cap;
    }
    return data_.get() + len_;
  }
  void Commit(size_t n) { len_ += n; }
  void EraseFront(size_t n) {
    std::memmove(data_.get(), data_.get() + n, len_ - n);
    len_ -= n;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0, len_ = 0;
};

Result<std::regex> Compile(const std::string& re, const std::string& option) {
  try {
    return std::regex(re, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(option + " '" + re +
                                   "' is not a valid regular expression (ECMAScript): " + e.what());
  }
}

}  // namespace

Result<int64_t> ParseSize(const std::string& text, const std::string& option, int64_t min) {
  auto bad = [&] {
    return Status::InvalidArgument(option + " '" + text +
                                   "' is not a size: give bytes with an optional K, M, G, T "
                                   "(powers of 1024) or k, m, g, t (of 1000), e.g. 10M");
  };
  if (text.empty()) return bad();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || !std::isfinite(v)) return bad();
  std::string unit(end);
  if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) {
    unit = std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))));
  }
  double mult = 1;
  if (!unit.empty()) {
    if (unit.size() != 1) return bad();
    const std::string binary = "KMGTP", decimal = "kmgtp";
    if (size_t b = binary.find(unit[0]); b != std::string::npos) {
      mult = std::pow(1024.0, static_cast<double>(b + 1));
    } else if (size_t d = decimal.find(unit[0]); d != std::string::npos) {
      mult = std::pow(1000.0, static_cast<double>(d + 1));
    } else {
      return bad();
    }
  }
  const double bytes = std::floor(v * mult);
  if (bytes > 9.0e18 || bytes < -9.0e18) return bad();
  const auto n = static_cast<int64_t>(bytes);
  if (n < min) {
    return Status::InvalidArgument(option + " '" + text + "' is too small: give at least " +
                                   std::to_string(min) + (min == 1 ? " byte" : ""));
  }
  return n;
}

Result<std::unique_ptr<BlockSplitter>> BlockSplitter::Make(const BlockRules& r) {
  std::unique_ptr<BlockSplitter> s(new BlockSplitter(r));
  auto re = std::make_shared<Regexes>();
  if (r.block_size <= 0) return Status::InvalidArgument("--block must be at least 1 byte");
  if (r.records < 0 || r.lines < 0) return Status::InvalidArgument("-N and -L must be positive");
  std::string start = r.recstart_set ? r.recstart : "";
  std::string end = r.recend_set ? r.recend : "";
  if (!r.recstart_set && !r.recend_set) end = "\\n";
  if (r.regexp) {
    if (r.recend_set && !r.recstart_set && end.empty()) end = "[\\s\\S]";  // GNU's (?s:.)
    s->recstart_ = start;
    s->recend_ = end;
    PG_ASSIGN_OR_RETURN(re->boundary, Compile("(?:" + end + ")(?=(?:" + start + "))",
                                              "--recstart/--recend with --regexp"));
    PG_ASSIGN_OR_RETURN(re->recstart, Compile("(?:" + start + ")", "--recstart"));
  } else {
    s->recstart_ = DecodeEscapes(start);
    s->recend_ = DecodeEscapes(end);
    s->sep_ = s->recend_ + s->recstart_;
  }
  if (r.header == ":") {
    s->header_lines_ = 1;
  } else if (!r.header.empty() && std::all_of(r.header.begin(), r.header.end(),
                                              [](char c) { return c >= '0' && c <= '9'; })) {
    s->header_lines_ = std::atoi(r.header.c_str());
  } else if (!r.header.empty()) {
    s->header_regex_ = true;
    PG_ASSIGN_OR_RETURN(re->header, Compile(r.header, "--header"));
  }
  s->re_ = std::move(re);
  return s;
}

int64_t BlockSplitter::HeaderEnd(std::string_view buf, bool eof) const {
  if (header_lines_ > 0) {
    size_t pos = 0;
    for (int i = 0; i < header_lines_; ++i) {
      size_t nl = buf.find('\n', pos);
      if (nl == std::string_view::npos) return -1;
      pos = nl + 1;
    }
    return static_cast<int64_t>(pos);
  }
  if (header_regex_) {
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(buf.begin(), buf.end(), m, re_->header,
                          std::regex_constants::match_continuous) &&
        (m.length(0) > 0 || eof)) {
      return m.length(0);
    }
    return -1;
  }
  return 0;
}

size_t BlockSplitter::FirstBoundary(std::string_view buf, size_t from) const {
  if (from > buf.size()) return std::string_view::npos;
  if (!rules_.regexp) {
    size_t i = buf.find(sep_, from);
    return i == std::string_view::npos ? i : i + recend_.size();
  }
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(buf.begin() + static_cast<std::ptrdiff_t>(from), buf.end(), m,
                         re_->boundary))
    return std::string_view::npos;
  return from + static_cast<size_t>(m.position(0) + m.length(0));
}

size_t BlockSplitter::CutBySize(std::string_view buf) const {
  if (!rules_.regexp) {
    if (sep_.empty()) return buf.size();  // records end anywhere
    size_t i = buf.rfind(sep_);
    return i == std::string_view::npos ? 0 : i + recend_.size();
  }
  size_t last = 0;
  using It = std::string_view::const_iterator;
  for (std::regex_iterator<It> it(buf.begin(), buf.end(), re_->boundary), e; it != e; ++it) {
    last = static_cast<size_t>(it->position(0) + it->length(0));
  }
  return last;
}

size_t BlockSplitter::CutAfterRecords(std::string_view buf, int64_t n) const {
  size_t i = 0;
  for (int64_t k = 0; k < n; ++k) {  // GNU's nindex: each search starts one past the last
    if (!rules_.regexp) {
      i = buf.find(sep_, i + 1);
      if (i == std::string_view::npos) return 0;
      if (k + 1 == n) return i + recend_.size();
    } else {  // a record: recstart, then up to the first recend followed by recstart
      std::match_results<std::string_view::const_iterator> m;
      size_t from = i;
      if (std::regex_search(buf.begin() + static_cast<std::ptrdiff_t>(i), buf.end(), m,
                            re_->recstart, std::regex_constants::match_continuous)) {
        from = i + static_cast<size_t>(m.length(0));
      }
      size_t cut = FirstBoundary(buf, from);
      while (cut != std::string_view::npos && cut <= i) cut = FirstBoundary(buf, cut + 1);
      if (cut == std::string_view::npos) return 0;
      i = cut;
    }
  }
  return i;
}

size_t BlockSplitter::CutAfterLines(std::string_view buf) const {
  const auto count = static_cast<int64_t>(std::count(buf.begin(), buf.end(), '\n'));
  const int64_t want = count / rules_.lines * rules_.lines;
  if (want == 0) return 0;
  int64_t seen = 0;
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] == '\n' && ++seen == want) return i + 1;
  }
  return 0;
}

Status BlockSplitter::Run(const std::function<int64_t(char*, size_t)>& read,
                          const std::function<Status(std::string_view, std::string_view)>& emit,
                          const std::function<void(const std::string&)>& warn) {
  ByteBuffer buf;
  std::string header;
  int64_t bs = std::min(rules_.block_size, kMaxBlock);
  bool eof = false;
  auto read_some = [&](size_t want) -> Result<int64_t> {
    char* at = buf.Reserve(want);
    int64_t n;
    do {
      n = read(at, want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Status::IoError(std::string("cannot read the input: ") + strerror(errno));
    buf.Commit(static_cast<size_t>(n));
    return n;
  };
  if (header_lines_ > 0 || header_regex_) {  // GNU's find_header
    for (;;) {
      PG_ASSIGN_OR_RETURN(int64_t n, read_some(static_cast<size_t>(bs)));
      int64_t end = HeaderEnd(buf.view(), n == 0);
      if (end >= 0) {
        header = std::string(buf.view().substr(0, static_cast<size_t>(end)));
        buf.EraseFront(static_cast<size_t>(end));
        break;
      }
      if (n == 0) break;  // no header: the input is all body
    }
  }
  size_t head = 0;  // buf[head..] is what is left; compacted once per round
  auto pass = [&](size_t cut) -> Status {
    if (cut == 0) return Status::Ok();
    PG_RETURN_IF_ERROR(emit(header, buf.view().substr(head, cut)));
    head += cut;
    return Status::Ok();
  };
  bool garbage_checked = false;
  for (;;) {
    if (head > 0) {
      buf.EraseFront(head);
      head = 0;
    }
    // GNU's read_block: up to the next multiple of the block size, or the end.
    size_t want = static_cast<size_t>(bs) - buf.size() % static_cast<size_t>(bs);
    int64_t n = 0;
    do {
      PG_ASSIGN_OR_RETURN(n, read_some(want));
      want -= static_cast<size_t>(n);
    } while (want > 0 && n > 0);
    eof = n == 0;
    const size_t before = head;
    auto rest = [&] { return buf.view().substr(head); };
    if (rules_.lines > 0 && rules_.records == 0) {
      PG_RETURN_IF_ERROR(pass(CutAfterLines(rest())));
    } else if (rules_.records > 0) {
      const int64_t per = rules_.records * std::max<int64_t>(rules_.lines, 1);
      if (rules_.regexp && !garbage_checked) {  // GNU: what precedes the first record alone
        garbage_checked = true;
        std::match_results<std::string_view::const_iterator> m;
        std::string_view r = rest();
        if (!std::regex_search(r.begin(), r.end(), m, re_->recstart,
                               std::regex_constants::match_continuous)) {
          size_t cut = FirstBoundary(r, 1);
          if (cut != std::string_view::npos) PG_RETURN_IF_ERROR(pass(cut));
        }
      }
      while (head < buf.size()) {
        size_t cut = CutAfterRecords(rest(), per);
        if (cut == 0) break;
        PG_RETURN_IF_ERROR(pass(cut));
      }
    } else if (!eof) {
      PG_RETURN_IF_ERROR(pass(CutBySize(rest())));
    }
    if (eof) break;
    if (head == before && bs < kMaxBlock) {  // no record fits: the block grows
      const int64_t old = bs;
      bs = std::min<int64_t>(static_cast<int64_t>(std::ceil(static_cast<double>(bs) * 1.3 + 1)),
                             kMaxBlock);
      if (warn) {
        warn("A record was longer than " + std::to_string(old) + ". Increasing to --blocksize " +
             std::to_string(bs) + ".");
      }
    }
  }
  return pass(buf.size() - head);
}

Result<std::vector<int64_t>> BlockSplitter::SplitPositions(
    int64_t size, const std::function<Result<std::string>(int64_t, size_t)>& read_at,
    std::string* header) {
  header->clear();
  if (header_lines_ > 0 || header_regex_) {
    std::string buf;
    for (;;) {
      PG_ASSIGN_OR_RETURN(std::string chunk,
                          read_at(static_cast<int64_t>(buf.size()),
                                  static_cast<size_t>(std::min(rules_.block_size, kMaxBlock))));
      buf += chunk;
      int64_t end = HeaderEnd(buf, chunk.empty());
      if (end >= 0) {
        *header = buf.substr(0, static_cast<size_t>(end));
        break;
      }
      if (chunk.empty()) break;
    }
  }
  const auto skip = static_cast<int64_t>(header->size());
  std::vector<int64_t> pos{skip};
  const int64_t block = rules_.block_size;
  for (int64_t p = block + skip; p < size; p += block) {
    if (!rules_.regexp && sep_.empty()) {
      pos.push_back(p);
      continue;
    }
    std::string buf;
    for (;;) {
      PG_ASSIGN_OR_RETURN(std::string chunk,
                          read_at(p + static_cast<int64_t>(buf.size()), kPartProbe));
      if (chunk.empty()) break;  // no boundary to the end: the last part runs to it
      buf += chunk;
      size_t cut = FirstBoundary(buf, 0);
      if (cut != std::string_view::npos) {
        p += static_cast<int64_t>(cut);
        pos.push_back(p);
        break;
      }
    }
  }
  if (pos.back() != size) pos.push_back(size);
  return pos;
}

}  // namespace parallelagram::driver
