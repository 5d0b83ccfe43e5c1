#include "driver/staging.h"

#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "common/sha256.h"

namespace parallelagram::driver {
namespace fs = std::filesystem;

Result<std::string> NormaliseRelative(const std::string& p, const std::string& what) {
  if (p.empty()) return Status::InvalidArgument(what + " got an empty path");
  fs::path n = fs::path(p).lexically_normal();
  std::string s = n.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (n.is_absolute() || s == ".." || s.rfind("../", 0) == 0 || s == ".") {
    return Status::InvalidArgument(
        what + " '" + p +
        "' must be a path relative to the current directory and inside it (the task finds it "
        "at the same relative path); cd to its parent directory first");
  }
  return s;
}

Result<StagedFile> Staging::Store(const std::string& rel, const std::string& src, bool cache) {
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::NotFound("input file '" + src + "' does not exist or is not a regular file");
  }
  PG_ASSIGN_OR_RETURN(std::string sha, Sha256File(src));
  PG_ASSIGN_OR_RETURN(std::string uri, store_.PutFile("cas/" + sha, src));
  StagedFile f;
  f.path = rel;
  f.uri = uri;
  f.sha256 = sha;
  f.size = static_cast<uint64_t>(st.st_size);
  f.executable = (st.st_mode & S_IXUSR) != 0;
  f.cache = cache;
  bytes_ += st.st_size;
  return f;
}

Status Staging::AddBasefiles(const std::vector<std::string>& paths) {
  std::set<std::string> seen;
  for (const auto& p : paths) {
    PG_ASSIGN_OR_RETURN(std::string rel, NormaliseRelative(p, "--basefile"));
    std::error_code ec;
    if (fs::is_directory(rel, ec)) {
      std::vector<std::string> files;
      for (auto it = fs::recursive_directory_iterator(rel, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_regular_file(ec)) files.push_back(it->path().lexically_normal().string());
      }
      if (ec) return Status::IoError("cannot read --basefile directory '" + p + "': " + ec.message());
      for (const auto& f : files) {
        if (!seen.insert(f).second) continue;
        PG_ASSIGN_OR_RETURN(StagedFile sf, Store(f, f, true));
        base_.push_back(std::move(sf));
      }
    } else if (fs::exists(rel, ec)) {
      if (!seen.insert(rel).second) continue;
      PG_ASSIGN_OR_RETURN(StagedFile sf, Store(rel, rel, true));
      base_.push_back(std::move(sf));
    } else {
      return Status::NotFound("--basefile '" + p + "' does not exist; check the path");
    }
  }
  return Status::Ok();
}

Status Staging::AddTransferFile(const std::string& path) {
  PG_ASSIGN_OR_RETURN(std::string rel, NormaliseRelative(path, "--transferfile"));
  if (transfer_.count(rel)) return Status::Ok();
  auto r = Store(rel, rel, false);
  if (!r.ok()) {
    return Status::NotFound("--transferfile '" + path +
                            "' does not exist or is not a regular file; check the inputs");
  }
  transfer_.emplace(rel, std::move(r).value());
  return Status::Ok();
}

std::vector<StagedFile> Staging::FilesFor(const std::vector<std::string>& transfer_paths) const {
  std::vector<StagedFile> out = base_;
  for (const auto& p : transfer_paths) {
    auto rel = NormaliseRelative(p, "--transferfile");
    if (!rel.ok()) continue;
    auto it = transfer_.find(*rel);
    if (it != transfer_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> Staging::TransferUris() const {
  std::set<std::string> base_uris;
  for (const auto& b : base_) base_uris.insert(b.uri);
  std::vector<std::string> out;
  for (const auto& [p, f] : transfer_) {
    if (!base_uris.count(f.uri)) out.push_back(f.uri);
  }
  return out;
}

}  // namespace parallelagram::driver
