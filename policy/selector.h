// Selector: Calico's selector language, whole, and Kubernetes label selectors lowered into it.
//
// Grammar (Calico's, lowest precedence first):
//   expr    := and ( "||" and )*
//   and     := unary ( "&&" unary )*
//   unary   := "!" unary | "(" expr ")" | term
//   term    := "all()" | "global()" | "has(" key ")"
//            | key ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
//            | key ( "in" | "not in" ) "{" [ string ( "," string )* ] "}"
//   string  := '...' | "..."
// The empty string is all(). `k != v` and `k not in {..}` are true when k is absent, as in
// Calico; `contains`, `starts with` and `ends with` are false when it is absent.
//
// A Selector is immutable and cheap to copy (its tree is shared). Thread-safe to read.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/error.h"
#include "policy/labels.h"

namespace palisade::policy {

class Selector {
 public:
  struct Node;

  // all(): matches every label set.
  Selector();

  // Parses Calico selector text. A syntax error names the column and shows the text around
  // it: `selector: syntax error at column 12 ("app == 'a' &&" <here> ")"): expected a label`.
  static Result<Selector> parse(std::string_view text);

  // Kubernetes LabelSelector parts: matchLabels is an AND of `k == v`; each expression is one
  // of In, NotIn, Exists, DoesNotExist (NotIn is true when the key is absent, as in k8s).
  struct Requirement {
    std::string key;
    std::string op;  // In, NotIn, Exists, DoesNotExist
    std::vector<std::string> values;
  };
  static Result<Selector> from_label_selector(const Labels& match_labels,
                                              const std::vector<Requirement>& expressions);

  bool matches(const Labels& labels) const;

  // True for exactly `global()`: the namespace selector that picks non-namespaced objects.
  bool is_global() const;
  // True for all() (and the empty selector).
  bool is_all() const;
  // Whether the expression mentions this label key anywhere.
  bool mentions_key(std::string_view key) const;

  // A canonical rendering: equal selectors print equal strings; parse(to_string()) round-trips.
  std::string to_string() const;

  friend bool operator==(const Selector& a, const Selector& b) {
    return a.to_string() == b.to_string();
  }

 private:
  explicit Selector(std::shared_ptr<const Node> root);
  std::shared_ptr<const Node> root_;
};

}  // namespace palisade::policy
