// Error and Result<T>: how policy/ and control/ report what went wrong.
//
// An Error names where the problem is, in the words a user needs to find it:
//   manifests/db.yaml:14: NetworkPolicy prod/db-ingress: spec.ingress[0].ports[1].port: named
//   port "pg" is not declared by any pod the policy selects
// Result<T> has the shape of C++23's std::expected, so it can become an alias of it later.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace palisade::policy {

enum class ErrorCode : uint8_t {
  InvalidField,   // a field has a value that is not allowed
  UnknownField,   // a field that the kind does not have (strict decoding)
  MissingField,   // a required field is absent
  Unsupported,    // valid in its dialect, but not enforceable by Palisade
  LimitExceeded,  // a documented limit was crossed
  NotFound,       // a reference to something that does not exist
  Io,             // a file could not be read
  Syntax,         // YAML/JSON or selector syntax
};

struct Error {
  ErrorCode code = ErrorCode::InvalidField;
  std::string source;   // file[:line], or "api"
  std::string object;   // Kind namespace/name, or Kind name
  std::string field;    // spec.ingress[0].from[1].ipBlock.cidr
  std::string message;  // what is wrong, with the offending value

  // "source: object: field: message", leaving out the parts that are empty.
  std::string to_string() const {
    std::string out;
    for (const std::string* part : {&source, &object, &field, &message}) {
      if (part->empty()) {
        continue;
      }
      if (!out.empty()) {
        out += ": ";
      }
      out += *part;
    }
    return out;
  }
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit, like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace palisade::policy
