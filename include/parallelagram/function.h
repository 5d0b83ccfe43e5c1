// Registering C++ functions as tasks, and how their arguments and results travel.
//
//   Stats Simulate(const Params& p);
//   PARALLELAGRAM_FUNCTION(Simulate);   // at namespace scope, in the program that calls it
//
// A registered function can be called on Lambda by name (Executor::Call/Map, executor.h):
// the driver and the worker are the same program (ServeIfWorker), so both hold the same
// registry. Arguments and results are any type nlohmann::json converts both ways (std types,
// and your own types with to_json/from_json, e.g. NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE); they
// travel as CBOR, so a std::string is raw bytes (binary-safe). A type that cannot be
// converted is a compile error that says so (static_assert at PARALLELAGRAM_FUNCTION).
// Thread-safety: registration happens during static initialisation; lookups are read-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace parallelagram {

// Thrown (and reported as the call's error) when serialised arguments do not match the
// function's parameters, or a result does not match the type the caller expects.
class ArgumentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class T>
using Bare = std::remove_cv_t<std::remove_reference_t<T>>;

// True when nlohmann::json converts T both ways.
template <class T>
inline constexpr bool kSerialisable =
    nlohmann::detail::has_to_json<nlohmann::json, T>::value &&
    (nlohmann::detail::has_from_json<nlohmann::json, T>::value ||
     nlohmann::detail::has_non_default_from_json<nlohmann::json, T>::value);

template <class T>
constexpr void CheckSerialisable() {
  static_assert(kSerialisable<T>,
                "parallelagram: this argument or result type cannot be serialised: give it "
                "nlohmann::json to_json/from_json (e.g. NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Type, "
                "field...)), or use std types");
}

// What a registered function's signature must be, checked at compile time.
template <class R, class... A>
constexpr bool CheckSignature() {
  static_assert((!std::is_rvalue_reference_v<A> && ...),
                "parallelagram: a registered function cannot take rvalue references");
  static_assert(((!std::is_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>)&&...),
                "parallelagram: a registered function takes its arguments by value or const "
                "reference (a result comes back only as the return value)");
  (CheckSerialisable<Bare<A>>(), ...);
  if constexpr (!std::is_void_v<R>) CheckSerialisable<Bare<R>>();
  return true;
}

// CBOR bytes of a json value, and back (throws ArgumentError on bytes that are not CBOR).
std::string ToBytes(const nlohmann::json& j);
nlohmann::json FromBytes(const std::string& bytes);
// The readable name of a type (demangled typeid name).
std::string Demangle(const char* mangled);
template <class T>
std::string TypeName() {
  return Demangle(typeid(T).name());
}

template <class T>
std::string EncodeValue(const T& v) {
  return ToBytes(nlohmann::json(v));
}

template <class T>
T DecodeValue(const std::string& bytes) {
  nlohmann::json j = FromBytes(bytes);
  try {
    return j.template get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw ArgumentError("the value does not deserialise into " + TypeName<T>() + ": " + e.what());
  }
}

// One argument as the parameter type P it is passed to.
template <class P, class Arg>
nlohmann::json ArgumentJson(Arg&& a) {
  if constexpr (std::is_same_v<Bare<Arg>, P>) {
    return nlohmann::json(a);
  } else {
    static_assert(std::is_constructible_v<P, Arg&&>,
                  "parallelagram: an argument does not convert to the function's parameter type");
    return nlohmann::json(P(std::forward<Arg>(a)));
  }
}

// The arguments of a call to a function of parameters A..., given as `args`.
template <class... A, class... Args>
std::string EncodeArgs(Args&&... args) {
  static_assert(sizeof...(A) == sizeof...(Args),
                "parallelagram: wrong number of arguments for this function");
  nlohmann::json j = nlohmann::json::array();
  (j.push_back(ArgumentJson<Bare<A>>(std::forward<Args>(args))), ...);
  return ToBytes(j);
}

using AnyFunction = void (*)();
// Runs the function at `fn` (of the registered signature) on serialised arguments and returns
// its serialised result. Throws what the function throws, or ArgumentError.
using Invoker = std::string (*)(AnyFunction fn, const std::string& args);

template <class R, class... A, std::size_t... I>
std::string InvokeWith(R (*f)(A...), const nlohmann::json& j, std::index_sequence<I...>) {
  auto arg = [&j](auto index, auto type) -> typename decltype(type)::type {
    using T = typename decltype(type)::type;
    try {
      return j.at(decltype(index)::value).template get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw ArgumentError("argument " + std::to_string(decltype(index)::value + 1) +
                          " does not deserialise into " + TypeName<T>() + ": " + e.what());
    }
  };
  if constexpr (std::is_void_v<R>) {
    f(arg(std::integral_constant<std::size_t, I>{}, std::type_identity<Bare<A>>{})...);
    return ToBytes(nullptr);
  } else {
    return EncodeValue(
        f(arg(std::integral_constant<std::size_t, I>{}, std::type_identity<Bare<A>>{})...));
  }
}

template <class R, class... A>
std::string Invoke(AnyFunction fn, const std::string& args) {
  auto f = reinterpret_cast<R (*)(A...)>(fn);
  nlohmann::json j = FromBytes(args);
  if (!j.is_array() || j.size() != sizeof...(A)) {
    throw ArgumentError("the call carries " + std::to_string(j.is_array() ? j.size() : 1) +
                        " argument(s); the function takes " + std::to_string(sizeof...(A)));
  }
  return InvokeWith(f, j, std::index_sequence_for<A...>{});
}

struct RegisteredFunction {
  std::string name;
  AnyFunction address = nullptr;
  Invoker invoke = nullptr;
  std::string signature;  // e.g. "Stats (Params const&)"
};

// Registers a function (called by PARALLELAGRAM_FUNCTION during static initialisation).
// Aborts with a one-line message when the name is taken by another function.
bool RegisterFunction(RegisteredFunction f);
// The registered function of that name / at that address, or null.
const RegisteredFunction* FindFunction(const std::string& name);
const RegisteredFunction* FindFunction(AnyFunction address);

template <class R, class... A>
bool Register(const char* name, R (*f)(A...)) {
  static_assert(CheckSignature<R, A...>());
  return RegisterFunction(
      {name, reinterpret_cast<AnyFunction>(f), &Invoke<R, A...>, TypeName<R(A...)>()});
}

}  // namespace detail
}  // namespace parallelagram

#define PARALLELAGRAM_DETAIL_CAT2(a, b) a##b
#define PARALLELAGRAM_DETAIL_CAT(a, b) PARALLELAGRAM_DETAIL_CAT2(a, b)
// Registers function `f` under its name as written (qualify it to register one of another
// namespace: PARALLELAGRAM_FUNCTION(sim::Simulate)). Use at namespace scope, once per function.
#define PARALLELAGRAM_FUNCTION(f)                                                         \
  [[maybe_unused]] static const bool PARALLELAGRAM_DETAIL_CAT(pg_registered_, __LINE__) = \
      ::parallelagram::detail::Register(#f, &f)
