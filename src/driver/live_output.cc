#include "driver/live_output.h"

#include "driver/job_output.h"

namespace parallelagram::driver {

void LiveOutput::Data(int64_t seq, bool is_stderr, const std::string& data,
                      const std::string& tag) {
  if (data.empty()) return;
  Task& t = tasks_[seq];
  t.tag = tag;
  t.seen[is_stderr] = true;
  if (keep_order_ && seq != head_) {
    t.held.emplace_back(is_stderr, data);
    return;
  }
  Print(t, is_stderr, data);
}

void LiveOutput::AttemptEnded(int64_t seq) {
  auto it = tasks_.find(seq);
  if (it == tasks_.end()) return;
  if (keep_order_ && seq != head_) return;  // held: printed as it came, when its turn comes
  EndLines(it->second);
}

void LiveOutput::End(int64_t seq, const std::string& whole_stdout, const std::string& whole_stderr,
                     const std::string& tag) {
  Task& t = tasks_[seq];
  t.tag = tag;
  for (auto& [is_stderr, data] : t.held) Print(t, is_stderr, data);
  t.held.clear();
  if (!t.seen[0]) Print(t, false, whole_stdout);
  if (!t.seen[1]) Print(t, true, whole_stderr);
  EndLines(t);
  tasks_.erase(seq);
  if (keep_order_ && seq >= head_) {
    head_ = seq + 1;
    Release(head_);
  }
}

void LiveOutput::Release(int64_t seq) {
  auto it = tasks_.find(seq);
  if (it == tasks_.end()) return;
  Task& t = it->second;
  std::vector<std::pair<bool, std::string>> held;
  held.swap(t.held);
  for (auto& [is_stderr, data] : held) Print(t, is_stderr, data);
}

void LiveOutput::Print(Task& t, bool is_stderr, const std::string& data) {
  if (data.empty()) return;
  const int s = is_stderr ? 1 : 0;
  if (mode_ == Mode::kRaw) {
    if (t.tag.empty()) {
      Write(is_stderr, data);
      return;
    }
    // A tag at each line start; a line begun by an earlier chunk already has one.
    std::string text;
    size_t at = 0;
    while (at < data.size()) {
      const size_t nl = data.find('\n', at);
      const size_t end = nl == std::string::npos ? data.size() : nl + 1;
      if (!t.mid_line[s]) text += t.tag;
      text.append(data, at, end - at);
      t.mid_line[s] = nl == std::string::npos;
      at = end;
    }
    Write(is_stderr, text);
    return;
  }
  std::string& partial = t.partial[s];
  partial += data;
  const size_t last_nl = partial.rfind('\n');
  if (last_nl == std::string::npos) return;
  Write(is_stderr, TagLines(partial.substr(0, last_nl + 1), t.tag));
  partial.erase(0, last_nl + 1);
}

void LiveOutput::EndLines(Task& t) {
  for (int s = 0; s < 2; ++s) {
    if (!t.partial[s].empty()) Write(s == 1, TagLines(t.partial[s], t.tag));
    t.partial[s].clear();
    t.mid_line[s] = false;
  }
}

void LiveOutput::Write(bool is_stderr, const std::string& data) {
  progress_.Clear();
  WriteAll(files_[is_stderr ? 1 : 0], data);
  std::fflush(files_[is_stderr ? 1 : 0]);
  progress_.Redraw();
}

}  // namespace parallelagram::driver
