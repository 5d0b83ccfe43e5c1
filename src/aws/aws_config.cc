#include "aws/aws_config.h"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/strings.h"

extern char** environ;

namespace parallelagram::aws {
namespace {

// Strips a trailing comment that starts with whitespace then '#' or ';'.
std::string StripComment(const std::string& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if ((v[i] == '#' || v[i] == ';') && (v[i - 1] == ' ' || v[i - 1] == '\t')) {
      return Trim(v.substr(0, i));
    }
  }
  return v;
}

// Reads a file; nullopt when it does not exist, error when unreadable.
Result<std::optional<std::string>> ReadOptional(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (access(path.c_str(), F_OK) != 0) return std::optional<std::string>();
    return Status::IoError("cannot read AWS config file " + path + ": check its permissions");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return std::optional<std::string>(ss.str());
}

std::string ExpandHome(const std::string& path, const Environment& env) {
  if (path == "~" || path.rfind("~/", 0) == 0) return env.Home() + path.substr(1);
  return path;
}

}  // namespace

Environment Environment::FromProcess() {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return Environment(std::move(vars));
}

std::string Environment::Get(const std::string& name) const {
  auto it = vars_.find(name);
  return it == vars_.end() ? "" : it->second;
}

std::string Environment::Home() const {
  std::string h = Get("HOME");
  if (!h.empty()) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "";
}

std::string Profile::Get(const std::string& key) const {
  auto it = settings.find(key);
  return it == settings.end() ? "" : it->second.value;
}

std::string Profile::Describe(const std::string& key) const {
  std::string file;
  if (auto it = settings.find(key); !key.empty() && it != settings.end()) {
    file = it->second.file;
  } else if (!settings.empty()) {
    file = settings.begin()->second.file;
  }
  return "profile '" + name + "'" + (file.empty() ? "" : " in " + file);
}

Result<std::map<std::string, std::map<std::string, std::string>>> ParseIni(
    const std::string& text, const std::string& path) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  std::string section;
  bool in_section = false;
  std::string last_key;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    const bool indented = line[0] == ' ' || line[0] == '\t';
    if (t[0] == '[') {
      size_t close = t.find(']');
      if (close == std::string::npos) {
        return Status::InvalidArgument(path + ":" + std::to_string(lineno) +
                                       ": section header without ']'");
      }
      section = Trim(t.substr(1, close - 1));
      in_section = true;
      out[section];
      last_key.clear();
      continue;
    }
    if (!in_section) {
      return Status::InvalidArgument(path + ":" + std::to_string(lineno) +
                                     ": setting outside of a [section]");
    }
    if (indented && !last_key.empty()) {
      // Continuation: a nested "sub = value" under an empty value, or more text.
      std::string& prev = out[section][last_key];
      size_t eq = t.find('=');
      if (prev.empty() || prev.find('\n') != std::string::npos) {
        if (eq != std::string::npos) {
          out[section][last_key + "." + AsciiLower(Trim(t.substr(0, eq)))] =
              StripComment(Trim(t.substr(eq + 1)));
          prev += "\n";
          continue;
        }
      }
      prev += (prev.empty() ? "" : "\n") + StripComment(t);
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(path + ":" + std::to_string(lineno) +
                                     ": expected 'key = value'");
    }
    last_key = AsciiLower(Trim(t.substr(0, eq)));
    out[section][last_key] = StripComment(Trim(t.substr(eq + 1)));
  }
  // Drop the "\n" markers left on parents of nested settings.
  for (auto& [s, kv] : out) {
    for (auto& [k, v] : kv) {
      if (!v.empty() && v.find_first_not_of('\n') == std::string::npos) v.clear();
    }
  }
  return out;
}

Result<SharedConfig> SharedConfig::FromText(const std::string& config_text,
                                            const std::string& config_path,
                                            const std::string& credentials_text,
                                            const std::string& credentials_path) {
  SharedConfig sc;
  sc.config_path_ = config_path;
  sc.credentials_path_ = credentials_path;
  PG_ASSIGN_OR_RETURN(auto config, ParseIni(config_text, config_path));
  PG_ASSIGN_OR_RETURN(auto creds, ParseIni(credentials_text, credentials_path));
  for (const auto& [section, kv] : config) {
    std::string name;
    if (section == "default") {
      name = "default";
    } else if (section.rfind("profile ", 0) == 0) {
      name = Trim(section.substr(8));
    } else {
      continue;  // [sso-session x], [services x], ...
    }
    Profile& p = sc.profiles_[name];
    p.name = name;
    // "[profile default]" wins over "[default]" in the config file.
    for (const auto& [k, v] : kv) {
      if (section == "default" && p.settings.count(k)) continue;
      p.settings[k] = {v, config_path};
    }
  }
  // A profile's "services = name" brings in "[services name]": "s3.endpoint_url", ...
  for (auto& [name, p] : sc.profiles_) {
    auto svc = p.settings.find("services");
    if (svc == p.settings.end()) continue;
    auto sec = config.find("services " + svc->second.value);
    if (sec == config.end()) continue;
    for (const auto& [k, v] : sec->second) {
      if (k.find('.') != std::string::npos) p.settings[k] = {v, config_path};
    }
  }
  for (const auto& [section, kv] : creds) {
    Profile& p = sc.profiles_[section];
    p.name = section;
    for (const auto& [k, v] : kv) p.settings[k] = {v, credentials_path};
  }
  return sc;
}

Result<SharedConfig> SharedConfig::Load(const Environment& env) {
  std::string config_path = env.Get("AWS_CONFIG_FILE");
  if (config_path.empty()) config_path = "~/.aws/config";
  std::string creds_path = env.Get("AWS_SHARED_CREDENTIALS_FILE");
  if (creds_path.empty()) creds_path = "~/.aws/credentials";
  config_path = ExpandHome(config_path, env);
  creds_path = ExpandHome(creds_path, env);
  PG_ASSIGN_OR_RETURN(auto config_text, ReadOptional(config_path));
  PG_ASSIGN_OR_RETURN(auto creds_text, ReadOptional(creds_path));
  return FromText(config_text.value_or(""), config_path, creds_text.value_or(""), creds_path);
}

std::string SharedConfig::SelectedProfileName(const Environment& env) {
  std::string p = env.Get("AWS_PROFILE");
  if (p.empty()) p = env.Get("AWS_DEFAULT_PROFILE");
  return p.empty() ? "default" : p;
}

bool SharedConfig::ProfileExplicit(const Environment& env) {
  return !env.Get("AWS_PROFILE").empty() || !env.Get("AWS_DEFAULT_PROFILE").empty();
}

std::optional<Profile> SharedConfig::Find(const std::string& name) const {
  auto it = profiles_.find(name);
  if (it == profiles_.end()) return std::nullopt;
  return it->second;
}

}  // namespace parallelagram::aws
