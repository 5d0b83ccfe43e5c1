// The registry behind PARALLELAGRAM_FUNCTION (parallelagram/function.h), and the CBOR codec.
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include "parallelagram/function.h"

namespace parallelagram::detail {

namespace {

struct Registry {
  std::map<std::string, RegisteredFunction> by_name;
  std::map<AnyFunction, const RegisteredFunction*> by_address;
};

// Built on first use: registrations run during static initialisation, in any order.
Registry& Functions() {
  static Registry r;
  return r;
}

}  // namespace

std::string ToBytes(const nlohmann::json& j) {
  std::string out;
  nlohmann::json::to_cbor(j, out);
  return out;
}

nlohmann::json FromBytes(const std::string& bytes) {
  try {
    return nlohmann::json::from_cbor(bytes);
  } catch (const nlohmann::json::exception& e) {
    throw ArgumentError(std::string("the bytes are not a serialised value: ") + e.what());
  }
}

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(mangled);
}

bool RegisterFunction(RegisteredFunction f) {
  Registry& r = Functions();
  auto it = r.by_name.find(f.name);
  if (it != r.by_name.end()) {
    if (it->second.address == f.address) return true;  // the same function, registered twice
    std::fprintf(stderr,
                 "parallelagram: PARALLELAGRAM_FUNCTION(%s) names two different functions; "
                 "register each under a distinct (qualified) name\n",
                 f.name.c_str());
    std::abort();
  }
  const std::string name = f.name;
  const RegisteredFunction* stored = &r.by_name.emplace(name, std::move(f)).first->second;
  r.by_address.emplace(stored->address, stored);
  return true;
}

const RegisteredFunction* FindFunction(const std::string& name) {
  const Registry& r = Functions();
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : &it->second;
}

const RegisteredFunction* FindFunction(AnyFunction address) {
  const Registry& r = Functions();
  auto it = r.by_address.find(address);
  return it == r.by_address.end() ? nullptr : it->second;
}

}  // namespace parallelagram::detail
