#include "policy/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace palisade::policy {

namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const char* type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

}  // namespace

YamlReader::YamlReader(YAML::Node node, std::string path, bool strict)
    : node_(std::move(node)), path_(std::move(path)), strict_(strict) {}

int YamlReader::line() const { return node_ ? node_.Mark().line + 1 : 0; }

bool YamlReader::has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)] && !node_[std::string(key)].IsNull();
}

YamlReader YamlReader::at(std::string_view key) const {
  expect_map();
  if (!has(key)) {
    YamlReader(node_, join(path_, key), strict_)
        .fail("required field is missing", ErrorCode::MissingField);
  }
  return YamlReader(node_[std::string(key)], join(path_, key), strict_);
}

std::optional<YamlReader> YamlReader::get(std::string_view key) const {
  expect_map();
  if (!has(key)) {
    return std::nullopt;
  }
  return YamlReader(node_[std::string(key)], join(path_, key), strict_);
}

std::string YamlReader::str() const {
  if (!node_.IsScalar()) {
    fail(std::string("expected a string, got ") + type_name(node_));
  }
  return node_.Scalar();
}

bool YamlReader::scalar_is_integer() const {
  if (!node_.IsScalar()) {
    return false;
  }
  const std::string& s = node_.Scalar();
  return !s.empty() && std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; });
}

int64_t YamlReader::integer(int64_t min, int64_t max) const {
  std::string s = str();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    fail("\"" + s + "\" is not an integer");
  }
  if (value < min || value > max) {
    fail(s + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

double YamlReader::number() const {
  std::string s = str();
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) {
    fail("\"" + s + "\" is not a number");
  }
  return value;
}

bool YamlReader::boolean() const {
  std::string s = str();
  if (s == "true" || s == "True") {
    return true;
  }
  if (s == "false" || s == "False") {
    return false;
  }
  fail("\"" + s + "\" is not true or false");
}

std::vector<YamlReader> YamlReader::items() const {
  std::vector<YamlReader> out;
  if (is_null()) {
    return out;
  }
  if (!node_.IsSequence()) {
    fail(std::string("expected a list, got ") + type_name(node_));
  }
  for (size_t i = 0; i < node_.size(); ++i) {
    out.emplace_back(node_[i], path_ + "[" + std::to_string(i) + "]", strict_);
  }
  return out;
}

std::vector<std::pair<std::string, YamlReader>> YamlReader::entries() const {
  std::vector<std::pair<std::string, YamlReader>> out;
  expect_map();
  if (is_null()) {
    return out;
  }
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      fail("a map key is not a string");
    }
    std::string key = kv.first.Scalar();
    out.emplace_back(key, YamlReader(kv.second, join(path_, key), strict_));
  }
  return out;
}

Labels YamlReader::string_map() const {
  Labels out;
  for (auto& [key, value] : entries()) {
    // A label value may be empty (`reserved:host: ''`) or null in YAML.
    out[key] = value.is_null() ? std::string() : value.str();
  }
  return out;
}

std::vector<std::string> YamlReader::strings() const {
  std::vector<std::string> out;
  for (const YamlReader& item : items()) {
    out.push_back(item.str());
  }
  return out;
}

void YamlReader::allow_only(std::initializer_list<std::string_view> keys) const {
  expect_map();
  if (!strict_ || is_null()) {
    return;
  }
  for (const auto& kv : node_) {
    std::string key = kv.first.as<std::string>();
    if (std::ranges::find(keys, key) == keys.end()) {
      YamlReader(kv.second, join(path_, key), strict_)
          .fail("unknown field (a misspelt field is never ignored)", ErrorCode::UnknownField);
    }
  }
}

void YamlReader::expect_map() const {
  if (!is_null() && !node_.IsMap()) {
    fail(std::string("expected a map, got ") + type_name(node_));
  }
}

void YamlReader::fail(const std::string& message, ErrorCode code) const {
  Error e;
  e.code = code;
  e.field = path_;
  e.message = message;
  // The line goes into source later, once the file name is known.
  e.source = line() > 0 ? std::to_string(line()) : std::string();
  throw DecodeFailure{std::move(e)};
}

}  // namespace palisade::policy
