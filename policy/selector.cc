#include "policy/selector.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace palisade::policy {

struct Selector::Node {
  enum class Op {
    All,
    Global,
    Has,
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Not,
    And,
    Or
  };
  Op op = Op::All;
  std::string key;
  std::string value;             // Eq, Ne, Contains, StartsWith, EndsWith
  std::set<std::string> values;  // In, NotIn (a set: order and repeats don't matter)
  std::vector<std::shared_ptr<const Node>> kids;  // Not (1), And, Or (2 or more)
};

namespace {

using Node = Selector::Node;
using Op = Node::Op;
using NodePtr = std::shared_ptr<const Node>;

NodePtr leaf(Op op, std::string key = {}, std::string value = {}) {
  auto n = std::make_shared<Node>();
  n->op = op;
  n->key = std::move(key);
  n->value = std::move(value);
  return n;
}

NodePtr combine(Op op, std::vector<NodePtr> kids) {
  if (kids.size() == 1) {
    return kids.front();
  }
  auto n = std::make_shared<Node>();
  n->op = op;
  n->kids = std::move(kids);
  return n;
}

NodePtr negate(NodePtr kid) {
  auto n = std::make_shared<Node>();
  n->op = Op::Not;
  n->kids.push_back(std::move(kid));
  return n;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '/' ||
         c == '-';
}

// Recursive descent over the text; every failure becomes an Error naming the column.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<NodePtr> parse_all() {
    skip_space();
    if (pos_ == text_.size()) {
      return leaf(Op::All);
    }
    NodePtr root = parse_or();
    if (failed_) {
      return error_;
    }
    skip_space();
    if (pos_ != text_.size()) {
      fail("unexpected text; expected '&&', '||' or the end");
      return error_;
    }
    return root;
  }

 private:
  NodePtr parse_or() {
    std::vector<NodePtr> kids{parse_and()};
    while (!failed_ && eat("||")) {
      kids.push_back(parse_and());
    }
    return failed_ ? nullptr : combine(Op::Or, std::move(kids));
  }

  NodePtr parse_and() {
    std::vector<NodePtr> kids{parse_unary()};
    while (!failed_ && eat("&&")) {
      kids.push_back(parse_unary());
    }
    return failed_ ? nullptr : combine(Op::And, std::move(kids));
  }

  NodePtr parse_unary() {
    if (failed_) {
      return nullptr;
    }
    skip_space();
    if (peek("!=")) {
      fail("expected a label before '!='");
      return nullptr;
    }
    if (eat("!")) {
      NodePtr kid = parse_unary();
      return failed_ ? nullptr : negate(std::move(kid));
    }
    if (eat("(")) {
      NodePtr inner = parse_or();
      if (!failed_ && !eat(")")) {
        fail("expected ')'");
      }
      return failed_ ? nullptr : inner;
    }
    return parse_term();
  }

  NodePtr parse_term() {
    skip_space();
    const size_t start = pos_;
    // all, global and has are also valid label names: a failed keyword match rewinds.
    if (eat_word("all") && eat("(") && eat(")")) {
      return leaf(Op::All);
    }
    pos_ = start;
    if (eat_word("global") && eat("(") && eat(")")) {
      return leaf(Op::Global);
    }
    pos_ = start;
    if (eat_word("has") && eat("(")) {
      std::string key = parse_key();
      if (!failed_ && !eat(")")) {
        fail("expected ')' after the label of has(");
      }
      return failed_ ? nullptr : leaf(Op::Has, std::move(key));
    }
    pos_ = start;
    std::string key = parse_key();
    if (failed_) {
      return nullptr;
    }
    struct Binary {
      std::string_view word1, word2;
      Op op;
    };
    static constexpr Binary kBinary[] = {
        {"==", "", Op::Eq},
        {"!=", "", Op::Ne},
        {"contains", "", Op::Contains},
        {"starts", "with", Op::StartsWith},
        {"ends", "with", Op::EndsWith},
    };
    for (const Binary& b : kBinary) {
      const bool symbol = !is_key_char(b.word1[0]);
      if (symbol ? eat(b.word1) : eat_word(b.word1)) {
        if (!b.word2.empty() && !eat_word(b.word2)) {
          fail("expected '" + std::string(b.word2) + "' after '" + std::string(b.word1) + "'");
          return nullptr;
        }
        std::string value = parse_string();
        return failed_ ? nullptr : leaf(b.op, std::move(key), std::move(value));
      }
    }
    Op set_op = Op::In;
    if (eat_word("not")) {
      if (!eat_word("in")) {
        fail("expected 'in' after 'not'");
        return nullptr;
      }
      set_op = Op::NotIn;
    } else if (!eat_word("in")) {
      fail("expected an operator (==, !=, in, not in, contains, starts with, ends with)");
      return nullptr;
    }
    auto n = std::make_shared<Node>();
    n->op = set_op;
    n->key = std::move(key);
    if (!eat("{")) {
      fail("expected '{' to open the set");
      return nullptr;
    }
    if (!eat("}")) {
      do {
        n->values.insert(parse_string());
      } while (!failed_ && eat(","));
      if (!failed_ && !eat("}")) {
        fail("expected ',' or '}' in the set");
      }
    }
    return failed_ ? nullptr : n;
  }

  std::string parse_key() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() && is_key_char(text_[pos_])) {
      ++pos_;
    }
    if (pos_ == start) {
      fail("expected a label");
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string parse_string() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      fail("expected a quoted string");
      return {};
    }
    char quote = text_[pos_];
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) {
      fail("unterminated string");
      return {};
    }
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
  }
  bool peek(std::string_view s) {
    skip_space();
    return text_.substr(pos_, s.size()) == s;
  }
  bool eat(std::string_view s) {
    if (!peek(s)) {
      return false;
    }
    pos_ += s.size();
    return true;
  }
  // A word must not run on into a label: `inx` is a label, not `in` then `x`.
  bool eat_word(std::string_view w) {
    skip_space();
    if (text_.substr(pos_, w.size()) != w) {
      return false;
    }
    size_t after = pos_ + w.size();
    if (after < text_.size() && is_key_char(text_[after])) {
      return false;
    }
    pos_ = after;
    return true;
  }

  void fail(const std::string& what) {
    if (failed_) {
      return;
    }
    failed_ = true;
    size_t at = std::min(pos_, text_.size());
    size_t from = at > 20 ? at - 20 : 0;
    std::string before(text_.substr(from, at - from));
    std::string after(text_.substr(at, 20));
    error_.code = ErrorCode::Syntax;
    error_.message = "syntax error at column " + std::to_string(at + 1) + " (\"" + before +
                     "\" <here> \"" + after + "\"): " + what;
  }

  std::string_view text_;
  size_t pos_ = 0;
  bool failed_ = false;
  Error error_;
};

bool eval(const Node& n, const Labels& labels) {
  auto value_of = [&](const std::string& key) -> const std::string* {
    auto it = labels.find(key);
    return it == labels.end() ? nullptr : &it->second;
  };
  switch (n.op) {
    case Op::All:
      return true;
    case Op::Global:
      return false;  // global() only has a meaning as a namespace selector (see is_global)
    case Op::Has:
      return value_of(n.key) != nullptr;
    case Op::Eq: {
      const std::string* v = value_of(n.key);
      return v != nullptr && *v == n.value;
    }
    case Op::Ne: {
      const std::string* v = value_of(n.key);
      return v == nullptr || *v != n.value;
    }
    case Op::In: {
      const std::string* v = value_of(n.key);
      return v != nullptr && n.values.contains(*v);
    }
    case Op::NotIn: {
      const std::string* v = value_of(n.key);
      return v == nullptr || !n.values.contains(*v);
    }
    case Op::Contains: {
      const std::string* v = value_of(n.key);
      return v != nullptr && v->find(n.value) != std::string::npos;
    }
    case Op::StartsWith: {
      const std::string* v = value_of(n.key);
      return v != nullptr && v->starts_with(n.value);
    }
    case Op::EndsWith: {
      const std::string* v = value_of(n.key);
      return v != nullptr && v->ends_with(n.value);
    }
    case Op::Not:
      return !eval(*n.kids[0], labels);
    case Op::And:
      return std::ranges::all_of(n.kids, [&](const NodePtr& k) { return eval(*k, labels); });
    case Op::Or:
      return std::ranges::any_of(n.kids, [&](const NodePtr& k) { return eval(*k, labels); });
  }
  return false;
}

std::string quote(const std::string& s) {
  // Calico strings have no escapes: pick the quote the value does not contain.
  return s.find('\'') == std::string::npos ? "'" + s + "'" : "\"" + s + "\"";
}

std::string print(const Node& n, bool nested) {
  switch (n.op) {
    case Op::All:
      return "all()";
    case Op::Global:
      return "global()";
    case Op::Has:
      return "has(" + n.key + ")";
    case Op::Eq:
      return n.key + " == " + quote(n.value);
    case Op::Ne:
      return n.key + " != " + quote(n.value);
    case Op::Contains:
      return n.key + " contains " + quote(n.value);
    case Op::StartsWith:
      return n.key + " starts with " + quote(n.value);
    case Op::EndsWith:
      return n.key + " ends with " + quote(n.value);
    case Op::In:
    case Op::NotIn: {
      std::string out = n.key + (n.op == Op::In ? " in {" : " not in {");
      bool first = true;
      for (const std::string& v : n.values) {
        out += (first ? "" : ", ") + quote(v);
        first = false;
      }
      return out + "}";
    }
    case Op::Not:
      return "!" + print(*n.kids[0], true);
    case Op::And:
    case Op::Or: {
      std::string out;
      for (const NodePtr& k : n.kids) {
        if (!out.empty()) {
          out += n.op == Op::And ? " && " : " || ";
        }
        out += print(*k, true);
      }
      return nested ? "(" + out + ")" : out;
    }
  }
  return {};
}

bool mentions(const Node& n, std::string_view key) {
  if (n.key == key) {
    return true;
  }
  return std::ranges::any_of(n.kids, [&](const NodePtr& k) { return mentions(*k, key); });
}

}  // namespace

Selector::Selector() : root_(leaf(Op::All)) {}
Selector::Selector(std::shared_ptr<const Node> root) : root_(std::move(root)) {}

Result<Selector> Selector::parse(std::string_view text) {
  Parser parser(text);
  Result<NodePtr> root = parser.parse_all();
  if (!root) {
    return root.error();
  }
  return Selector(std::move(root).value());
}

Result<Selector> Selector::from_label_selector(const Labels& match_labels,
                                               const std::vector<Requirement>& expressions) {
  std::vector<NodePtr> kids;
  for (const auto& [key, value] : match_labels) {
    kids.push_back(leaf(Op::Eq, key, value));
  }
  for (size_t i = 0; i < expressions.size(); ++i) {
    const Requirement& r = expressions[i];
    Error err{ErrorCode::InvalidField, {}, {}, "matchExpressions[" + std::to_string(i) + "]", {}};
    if (r.op == "In" || r.op == "NotIn") {
      if (r.values.empty()) {
        err.message = "operator " + r.op + " needs at least one value";
        return err;
      }
      auto n = std::make_shared<Node>();
      n->op = r.op == "In" ? Op::In : Op::NotIn;
      n->key = r.key;
      n->values.insert(r.values.begin(), r.values.end());
      kids.push_back(n);
    } else if (r.op == "Exists" || r.op == "DoesNotExist") {
      if (!r.values.empty()) {
        err.message = "operator " + r.op + " takes no values";
        return err;
      }
      NodePtr has = leaf(Op::Has, r.key);
      kids.push_back(r.op == "Exists" ? has : negate(has));
    } else {
      err.field += ".operator";
      err.message = "\"" + r.op + "\" is not one of In, NotIn, Exists, DoesNotExist";
      return err;
    }
  }
  if (kids.empty()) {
    return Selector();
  }
  return Selector(combine(Op::And, std::move(kids)));
}

bool Selector::matches(const Labels& labels) const { return eval(*root_, labels); }
bool Selector::is_global() const { return root_->op == Op::Global; }
bool Selector::is_all() const { return root_->op == Op::All; }
bool Selector::mentions_key(std::string_view key) const { return mentions(*root_, key); }
std::string Selector::to_string() const { return print(*root_, false); }

}  // namespace palisade::policy
