#include "driver/staging.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/sha256.h"
#include "deploy/function_package.h"
#include "deploy/library_closure.h"
#include "os/process_runner.h"

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

// Hashes `paths` with a few threads (sha256 of large inputs is the slow part of staging).
std::vector<Result<std::string>> HashAll(const std::vector<std::string>& paths) {
  std::vector<Result<std::string>> out(paths.size(), Status::Internal("not hashed"));
  const size_t n = std::min<size_t>(
      paths.size(), std::max<size_t>(1, std::min(4u, std::thread::hardware_concurrency())));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < paths.size(); i = next++) out[i] = Sha256File(paths[i]);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return out;
}

Status WriteFile(const std::string& path, const std::string& content, uint32_t mode) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  f.close();
  if (!f) return Status::IoError("cannot write '" + path + "'");
  ::chmod(path.c_str(), mode);
  return Status::Ok();
}

bool IsExecutableFile(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) != 0;
}

}  // namespace

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

bool IsS3Uri(const std::string& p) { return p.rfind("s3://", 0) == 0; }

Result<std::string> S3InputPath(const std::string& uri) {
  if (!IsS3Uri(uri)) return Status::InvalidArgument("'" + uri + "' is not an s3:// URI");
  std::string rest = uri.substr(5);
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size()) {
    return Status::InvalidArgument("input '" + uri +
                                   "' is not an S3 object URI (want s3://BUCKET/KEY)");
  }
  for (size_t start = 0;;) {
    size_t end = rest.find('/', start);
    std::string part = rest.substr(start, end == std::string::npos ? end : end - start);
    if (part == "." || part == ".." || part.find('\0') != std::string::npos) {
      return Status::InvalidArgument("input '" + uri +
                                     "' has a '.' or '..' path component, so the task could not "
                                     "find it at its own path; rename the object");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "s3:/" + rest;
}

std::string FormatBytes(int64_t b) {
  if (b < 1000) return fmt::format("{} bytes", b);
  double d = static_cast<double>(b);
  if (b < 1000 * 1000) return fmt::format("{:.1f} kB", d / 1e3);
  if (b < int64_t{1000} * 1000 * 1000) return fmt::format("{:.1f} MB", d / 1e6);
  return fmt::format("{:.1f} GB", d / 1e9);
}

Status Staging::AddBasefile(const std::string& rel, const std::string& src) {
  for (const auto& p : base_pending_) {
    if (p.rel == rel) return Status::Ok();
  }
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::NotFound("input file '" + src + "' does not exist or is not a regular file");
  }
  base_pending_.push_back({rel, src, true});
  return Status::Ok();
}

Status Staging::AddBasefiles(const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    PG_ASSIGN_OR_RETURN(std::string rel, NormaliseRelative(p, "--basefile"));
    std::error_code ec;
    if (fs::is_directory(rel, ec)) {
      std::vector<std::string> files;
      for (auto it = fs::recursive_directory_iterator(rel, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_regular_file(ec)) files.push_back(it->path().lexically_normal().string());
      }
      if (ec)
        return Status::IoError("cannot read --basefile directory '" + p + "': " + ec.message());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) PG_RETURN_IF_ERROR(AddBasefile(f, f));
    } else if (fs::exists(rel, ec)) {
      PG_RETURN_IF_ERROR(AddBasefile(rel, rel));
    } else {
      return Status::NotFound("--basefile '" + p + "' does not exist; check the path");
    }
  }
  return Status::Ok();
}

Status Staging::AddTransferFile(const std::string& path) {
  if (IsS3Uri(path)) {
    if (transfer_.count(path)) return Status::Ok();
    PG_ASSIGN_OR_RETURN(std::string rel, S3InputPath(path));
    StagedFile f;
    f.path = rel;
    f.uri = path;
    transfer_.emplace(path, std::move(f));
    ++summary_.in_place;
    return Status::Ok();
  }
  PG_ASSIGN_OR_RETURN(std::string rel, NormaliseRelative(path, "--transferfile"));
  if (transfer_pending_.count(rel) || transfer_.count(rel)) return Status::Ok();
  struct stat st {};
  if (::stat(rel.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::NotFound("--transferfile '" + path +
                            "' does not exist or is not a regular file; check the inputs");
  }
  transfer_pending_.emplace(rel, Pending{rel, rel, false});
  return Status::Ok();
}

Status Staging::BundleOne(const std::string& rel) {
  if (!IsExecutableFile(rel)) {
    return Status::NotFound("--bundle-exe '" + rel + "' is not an executable file; check the path");
  }
  auto header = deploy::ReadElfHeader(rel);
  os::PosixProcessRunner runner;
  Result<deploy::LibraryClosure> closure =
      header.ok() && !header->is_static ? deploy::FindLibraryClosure(rel, runner) : header;
  // Not an ELF program (a script), or a static one: shipped as it is.
  base_pending_.erase(std::remove_if(base_pending_.begin(), base_pending_.end(),
                                     [&](const Pending& p) { return p.rel == rel; }),
                      base_pending_.end());
  if (!header.ok() || header->is_static) return AddBasefile(rel, rel);
  if (!closure.ok()) return closure.status().WithContext("cannot bundle '" + rel + "'");
  const fs::path relp(rel);
  const std::string name = relp.filename().string();
  const std::string parent = relp.parent_path().string();
  const std::string dir = (parent.empty() ? "" : parent + "/") + ".pgbundle-" + name;
  PG_ASSIGN_OR_RETURN(auto entries, deploy::BundleExecutable(rel, *closure, dir, name));
  if (options_.work_dir.empty()) {
    return Status::Internal("bundling needs StagingOptions::work_dir");
  }
  for (const auto& e : entries) {
    if (!e.name.empty() && e.name.back() == '/') continue;  // directory entries
    std::string local = options_.work_dir + "/" + e.name;
    PG_RETURN_IF_ERROR(WriteFile(local, e.content, e.mode));
    PG_RETURN_IF_ERROR(AddBasefile(e.name, local));
  }
  // The program's own path runs the bundle's launcher.
  std::string launcher =
      "#!/bin/sh\n"
      "# Runs " +
      name +
      " with the shared libraries it was built with (Parallelagram bundle).\n"
      "case \"$0\" in */*) d=\"${0%/*}\" ;; *) d=. ;; esac\n"
      "exec \"$d/.pgbundle-" +
      name + "/" + name + "\" \"$@\"\n";
  std::string local = options_.work_dir + "/" + rel;
  PG_RETURN_IF_ERROR(WriteFile(local, launcher, 0755));
  PG_RETURN_IF_ERROR(AddBasefile(rel, local));
  ++summary_.bundled;
  return Status::Ok();
}

Status Staging::AddBundles() {
  std::vector<std::string> exes;
  for (const auto& p : options_.bundle_exes) {
    PG_ASSIGN_OR_RETURN(std::string rel, NormaliseRelative(p, "--bundle-exe"));
    exes.push_back(rel);
  }
  const std::string& prog = options_.program;
  if (prog.find('/') != std::string::npos && prog.find('{') == std::string::npos &&
      prog[0] != '/' && IsExecutableFile(prog)) {
    auto rel = NormaliseRelative(prog, "the command");
    if (rel.ok()) exes.push_back(*rel);
  }
  std::set<std::string> done;
  for (const auto& rel : exes) {
    if (!done.insert(rel).second) continue;
    PG_RETURN_IF_ERROR(BundleOne(rel));
  }
  return Status::Ok();
}

Status Staging::Commit() {
  if (committed_ && transfer_pending_.empty()) return Status::Ok();
  if (!committed_ && options_.bundle) PG_RETURN_IF_ERROR(AddBundles());
  committed_ = true;

  // Hash every local file once (a file may be a basefile and a transfer file).
  std::vector<std::string> srcs;
  std::map<std::string, size_t> index;  // src -> position in srcs
  auto note = [&](const std::string& src) {
    if (index.emplace(src, srcs.size()).second) srcs.push_back(src);
  };
  for (const auto& p : base_pending_) note(p.src);
  for (const auto& [rel, p] : transfer_pending_) note(p.src);
  std::vector<Result<std::string>> digests = HashAll(srcs);
  for (size_t i = 0; i < srcs.size(); ++i) {
    if (!digests[i].ok()) return digests[i].status().WithContext("cannot read '" + srcs[i] + "'");
  }

  // Store each distinct content once.
  std::vector<PutRequest> puts;
  std::map<std::string, size_t> put_of;  // sha256 -> position in puts
  for (size_t i = 0; i < srcs.size(); ++i) {
    const std::string& sha = *digests[i];
    if (put_of.emplace(sha, puts.size()).second) puts.push_back({"cas/" + sha, srcs[i]});
  }
  std::vector<PutOutcome> outcomes = store_.PutFiles(puts);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const PutOutcome& o = outcomes[i];
    if (!o.status.ok()) return o.status;
    ++summary_.files;
    if (o.uploaded) {
      ++summary_.files_uploaded;
      summary_.bytes_uploaded += o.bytes;
    } else {
      ++summary_.files_present;
      summary_.bytes_present += o.bytes;
    }
  }

  auto staged = [&](const Pending& p) -> Result<StagedFile> {
    struct stat st {};
    if (::stat(p.src.c_str(), &st) != 0) return Status::NotFound("'" + p.src + "' went away");
    const std::string& sha = *digests[index.at(p.src)];
    StagedFile f;
    f.path = p.rel;
    f.uri = outcomes[put_of.at(sha)].uri;
    f.sha256 = sha;
    f.size = static_cast<uint64_t>(st.st_size);
    f.executable = (st.st_mode & S_IXUSR) != 0;
    f.cache = p.cache;
    return f;
  };
  for (const auto& p : base_pending_) {
    PG_ASSIGN_OR_RETURN(StagedFile f, staged(p));
    base_.push_back(std::move(f));
  }
  for (const auto& [rel, p] : transfer_pending_) {
    PG_ASSIGN_OR_RETURN(StagedFile f, staged(p));
    transfer_.emplace(rel, std::move(f));
  }
  // Staged: a later Commit() stores only what was added after this one.
  base_pending_.clear();
  transfer_pending_.clear();
  return Status::Ok();
}

std::string Staging::SummaryLine() const {
  const Summary& s = summary_;
  if (s.files == 0 && s.in_place == 0) return "";
  std::string line = fmt::format("staged {} file{} ({} uploaded", s.files, s.files == 1 ? "" : "s",
                                 FormatBytes(s.bytes_uploaded));
  if (s.files_present > 0) {
    line +=
        fmt::format(", {} file{} / {} already in {}", s.files_present,
                    s.files_present == 1 ? "" : "s", FormatBytes(s.bytes_present), options_.where);
  }
  line += ")";
  if (s.in_place > 0) {
    line += fmt::format("; {} s3:// input{} used in place", s.in_place, s.in_place == 1 ? "" : "s");
  }
  if (s.bundled > 0) {
    line += fmt::format("; {} executable{} bundled with {} shared libraries", s.bundled,
                        s.bundled == 1 ? "" : "s", s.bundled == 1 ? "its" : "their");
  }
  return line;
}

std::vector<StagedFile> Staging::FilesFor(const std::vector<std::string>& transfer_paths) const {
  std::vector<StagedFile> out = base_;
  for (const auto& p : transfer_paths) {
    auto it = transfer_.find(p);
    if (it == transfer_.end() && !IsS3Uri(p)) {
      auto rel = NormaliseRelative(p, "--transferfile");
      if (!rel.ok()) continue;
      it = transfer_.find(*rel);
    }
    if (it != transfer_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> Staging::TransferUris() const {
  std::set<std::string> base_uris;
  for (const auto& b : base_) base_uris.insert(b.uri);
  std::set<std::string> out;
  for (const auto& [p, f] : transfer_) {
    if (IsS3Uri(p) || f.sha256.empty()) continue;  // used in place: not ours to delete
    if (!base_uris.count(f.uri)) out.insert(f.uri);
  }
  return {out.begin(), out.end()};
}

}  // namespace parallelagram::driver
