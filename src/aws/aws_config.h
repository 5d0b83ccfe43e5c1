// The AWS shared config and credentials files, and the environment they are
// found through, as the AWS SDKs read them.
//
// - Environment: a snapshot of environment variables (tests build their own).
// - SharedConfig: ~/.aws/config ([default], [profile x]) and ~/.aws/credentials
//   ([x]), or the files named by AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE.
//   For one profile, a key in the credentials file wins over the same key in
//   the config file. Missing files are not errors; unreadable or malformed
//   ones are (the message names the file and line, never a value).
//
// All types are values; const methods are thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::aws {

class Environment {
 public:
  Environment() = default;
  explicit Environment(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}
  // A copy of the process environment (environ), taken now.
  static Environment FromProcess();
  // The value, or "" when unset. (Set-but-empty counts as unset, as in the SDKs.)
  std::string Get(const std::string& name) const;
  void Set(const std::string& name, const std::string& value) { vars_[name] = value; }
  // $HOME (or the passwd entry) for "~" expansion.
  std::string Home() const;

 private:
  std::map<std::string, std::string> vars_;
};

// One profile's settings, merged from both files.
struct Profile {
  std::string name;
  struct Setting {
    std::string value;
    std::string file;  // the file it came from
  };
  std::map<std::string, Setting> settings;  // keys lower-cased

  // The value of `key`, or "" when absent.
  std::string Get(const std::string& key) const;
  bool Has(const std::string& key) const { return settings.count(key) != 0; }
  // "profile 'dev' in /home/u/.aws/credentials" for the file that set `key`
  // (or the first file the profile appears in).
  std::string Describe(const std::string& key = "") const;
};

class SharedConfig {
 public:
  // Reads the files named by AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE or
  // the defaults under ~/.aws.
  static Result<SharedConfig> Load(const Environment& env);
  // Parses given texts (for tests); paths are only used in messages.
  static Result<SharedConfig> FromText(const std::string& config_text,
                                       const std::string& config_path,
                                       const std::string& credentials_text,
                                       const std::string& credentials_path);

  // The profile to use: AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
  static std::string SelectedProfileName(const Environment& env);
  // Whether the user named the profile explicitly (then a missing one is an error).
  static bool ProfileExplicit(const Environment& env);

  std::optional<Profile> Find(const std::string& name) const;
  const std::string& config_path() const { return config_path_; }
  const std::string& credentials_path() const { return credentials_path_; }

 private:
  std::map<std::string, Profile> profiles_;
  std::string config_path_;
  std::string credentials_path_;
};

// Parses INI text as the SDKs do: "[section]" headers, "key = value" lines,
// '#' and ';' comment lines (and " #"/" ;" trailing comments), indented
// continuation lines appended to the previous value (nested "sub = v" lines
// under an empty value are stored as "key.sub"). Sections map to key->value.
Result<std::map<std::string, std::map<std::string, std::string>>> ParseIni(
    const std::string& text, const std::string& path_for_errors);

}  // namespace parallelagram::aws
