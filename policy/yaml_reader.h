// YamlReader: walks one YAML (or JSON) node while keeping the field path, so that every
// decoding error can say exactly where it is: `spec.ingress[2].from[0].ipBlock.except[1]`.
//
// Decoding is not on the packet path; a failure unwinds as DecodeFailure to the one place
// that turns it into an Error (decode_object), which keeps each decoder a straight read of
// its kind's schema.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/error.h"
#include "policy/labels.h"

namespace palisade::policy {

struct DecodeFailure {
  Error error;
};

class YamlReader {
 public:
  // strict: unknown keys are errors (files from disk); otherwise they are ignored (the API
  // server has validated the object, and may know fields newer than this build).
  YamlReader(YAML::Node node, std::string path, bool strict);

  const std::string& path() const { return path_; }
  int line() const;  // 1-based line of this node in its document, 0 if unknown
  bool is_null() const { return !node_ || node_.IsNull(); }
  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool strict() const { return strict_; }

  bool has(std::string_view key) const;
  // A present, non-null child; fails with MissingField when absent.
  YamlReader at(std::string_view key) const;
  // The child, or nullopt when absent or null.
  std::optional<YamlReader> get(std::string_view key) const;

  std::string str() const;
  int64_t integer(int64_t min, int64_t max) const;
  double number() const;
  bool boolean() const;
  // Scalar that is all digits → number, anything else → the string (Kubernetes IntOrString).
  bool scalar_is_integer() const;

  std::vector<YamlReader> items() const;  // a sequence (null reads as empty)
  std::vector<std::pair<std::string, YamlReader>> entries() const;  // a map
  Labels string_map() const;  // map of string to string (labels)
  std::vector<std::string> strings() const;

  // The same node under a longer path, for errors found below it without a node of their own.
  YamlReader with_path_suffix(const std::string& suffix) const {
    return YamlReader(node_, path_ + "." + suffix, strict_);
  }

  // Under strict decoding, fails on the first key of this map that is not listed.
  void allow_only(std::initializer_list<std::string_view> keys) const;
  // Fails unless this node is a map (null reads as an empty map).
  void expect_map() const;

  [[noreturn]] void fail(const std::string& message,
                         ErrorCode code = ErrorCode::InvalidField) const;

 private:
  YAML::Node node_;
  std::string path_;
  bool strict_;
};

}  // namespace palisade::policy
