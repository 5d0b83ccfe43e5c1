// DeploymentStore: where `parallelagram deploy` keeps its records, one per function, so a user
// can have several deployments (`deploy --function pg`, then `deploy --function pg-big`) and
// `run`/`destroy`/`doctor` pick one by name.
//
// The default store is the directory $XDG_CONFIG_HOME/parallelagram/deployments/ (XDG_CONFIG_HOME
// defaults to $HOME/.config), one file FUNCTION.json per deployment. The single record file of
// older versions, $XDG_CONFIG_HOME/parallelagram/deployment.json, is still read as one more
// deployment; the next deploy or destroy of its function moves it into the directory, so it
// is never overwritten by the deploy of another function. With neither XDG_CONFIG_HOME nor
// HOME set (inside a Lambda function) the default store has no location: it holds nothing and
// cannot be written (run then takes the function and bucket from flags or the environment).
//
// `--config FILE` makes a store of exactly that file: one deployment, as before; saving the
// deployment of another function there is refused rather than replacing it.
//
// Thread-safety: none (a value; every call reads the files afresh). Errors: NotFound when
// nothing fits, InvalidArgument for a file that is not a record or an ambiguous choice,
// IoError for a write that failed; one line each, saying what to do.
#pragma once

#include <string>
#include <vector>

#include "aws/aws_config.h"
#include "deploy/deployment_record.h"
#include "parallelagram/status.h"

namespace parallelagram::deploy {

class DeploymentStore {
 public:
  struct Entry {
    DeploymentRecord record;
    std::string path;  // the file it was read from
  };

  // The default store for `env` (see above).
  static DeploymentStore Default(const aws::Environment& env);
  // The store of one record file (--config FILE).
  static DeploymentStore SingleFile(const std::string& path);

  // Every recorded deployment, ordered by function name (a per-function file wins over the
  // old single file recording the same function).
  Result<std::vector<Entry>> List() const;

  // The deployment of `function`; with `function` "" the only one recorded. NotFound when
  // there is none (for that function); InvalidArgument when `function` is "" and several are
  // recorded: "2 deployments are recorded (pg, pg-big): pick one with --function NAME".
  Result<Entry> Find(const std::string& function) const;

  // Ok when Save(record of `function`) can write: InvalidArgument when the store has no
  // location, or is a single file recording another function.
  Status CheckSavable(const std::string& function) const;

  // Writes the record of record.function_name atomically; in the default store also removes
  // the old single file when it recorded the same function (moved into the directory).
  // Returns the path written.
  Result<std::string> Save(const DeploymentRecord& record) const;

  // Removes every file recording `function`. Missing files are not errors.
  void Forget(const std::string& function) const;

  // Where the records are, for messages: the directory, or the single file.
  std::string Describe() const;

  // The file name a function's record gets in the directory: the name itself when it is
  // made of [A-Za-z0-9_-] (every Lambda function name is), any other byte as %XX.
  static std::string FileNameFor(const std::string& function);

 private:
  std::string dir_;     // the per-function directory; "" for a single-file store
  std::string single_;  // the old single file (default store) or the --config file
  bool single_only_ = false;
};

}  // namespace parallelagram::deploy
