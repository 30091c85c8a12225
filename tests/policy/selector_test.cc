#include "policy/selector.h"

#include <gtest/gtest.h>

namespace palisade::policy {
namespace {

bool sel(const std::string& text, const Labels& labels) {
  Result<Selector> s = Selector::parse(text);
  EXPECT_TRUE(s.has_value()) << text << ": " << (s ? "" : s.error().message);
  return s && s->matches(labels);
}

const Labels kWeb{{"app", "web"}, {"tier", "frontend"}, {"env", "prod-eu"}};

TEST(SelectorParse, EmptyIsAll) {
  EXPECT_TRUE(sel("", {}));
  EXPECT_TRUE(sel("   ", kWeb));
  EXPECT_TRUE(Selector::parse("")->is_all());
}

TEST(SelectorParse, AllAndGlobal) {
  EXPECT_TRUE(sel("all()", kWeb));
  EXPECT_TRUE(Selector::parse("global()")->is_global());
  EXPECT_FALSE(sel("global()", kWeb));  // only meaningful as a namespace selector
}

TEST(SelectorEval, EqualAndNotEqual) {
  EXPECT_TRUE(sel("app == 'web'", kWeb));
  EXPECT_TRUE(sel("app == \"web\"", kWeb));
  EXPECT_FALSE(sel("app == 'db'", kWeb));
  EXPECT_FALSE(sel("app != 'web'", kWeb));
  EXPECT_TRUE(sel("app != 'db'", kWeb));
}

TEST(SelectorEval, NotEqualIsTrueWhenLabelAbsent) {
  EXPECT_TRUE(sel("role != 'admin'", kWeb));
  EXPECT_TRUE(sel("role not in {'a', 'b'}", kWeb));
}

TEST(SelectorEval, InAndNotIn) {
  EXPECT_TRUE(sel("app in {'web', 'db'}", kWeb));
  EXPECT_FALSE(sel("app in {'db'}", kWeb));
  EXPECT_FALSE(sel("app in {}", kWeb));
  EXPECT_TRUE(sel("app not in {'db'}", kWeb));
  EXPECT_FALSE(sel("app not in {'web', \"x\"}", kWeb));
  EXPECT_FALSE(sel("role in {'a'}", kWeb));
}

TEST(SelectorEval, HasAndNotHas) {
  EXPECT_TRUE(sel("has(app)", kWeb));
  EXPECT_FALSE(sel("has(role)", kWeb));
  EXPECT_TRUE(sel("!has(role)", kWeb));
  EXPECT_FALSE(sel("! has(app)", kWeb));
}

TEST(SelectorEval, StringOperatorsAreFalseWhenLabelAbsent) {
  EXPECT_TRUE(sel("env starts with 'prod'", kWeb));
  EXPECT_FALSE(sel("env starts with 'eu'", kWeb));
  EXPECT_TRUE(sel("env ends with '-eu'", kWeb));
  EXPECT_FALSE(sel("env ends with 'prod'", kWeb));
  EXPECT_TRUE(sel("env contains 'd-e'", kWeb));
  EXPECT_FALSE(sel("env contains 'us'", kWeb));
  EXPECT_FALSE(sel("role contains ''", kWeb));
  EXPECT_FALSE(sel("role starts with ''", kWeb));
}

TEST(SelectorEval, AndBindsTighterThanOr) {
  // a || b && c  is  a || (b && c)
  EXPECT_TRUE(sel("app == 'web' || app == 'x' && tier == 'y'", kWeb));
  EXPECT_FALSE(sel("(app == 'web' || app == 'x') && tier == 'y'", kWeb));
}

TEST(SelectorEval, NotBindsTighterThanAnd) {
  EXPECT_FALSE(sel("!app == 'web' && tier == 'frontend'", kWeb));
  EXPECT_TRUE(sel("!(app == 'db' && tier == 'frontend')", kWeb));
  EXPECT_TRUE(sel("!!has(app)", kWeb));
}

TEST(SelectorEval, LabelKeysWithPrefixesAndDots) {
  Labels l{{"projectcalico.org/namespace", "prod"}, {"kubernetes.io/hostname", "n1"}};
  EXPECT_TRUE(sel("projectcalico.org/namespace == 'prod'", l));
  EXPECT_TRUE(sel("has(kubernetes.io/hostname)", l));
  EXPECT_TRUE(sel("projectcalico.org/namespace != 'ingress-nginx'", l));
}

TEST(SelectorEval, KeywordsAreAlsoLabelNames) {
  Labels l{{"has", "1"}, {"all", "x"}, {"in", "y"}};
  EXPECT_TRUE(sel("has == '1'", l));
  EXPECT_TRUE(sel("all == 'x' && has(in)", l));
  EXPECT_TRUE(sel("in in {'y'}", l));
}

TEST(SelectorParse, SyntaxErrorsNameTheColumn) {
  struct Case {
    const char* text;
    const char* column;
  };
  for (Case c : {Case{"app == ", "column 8"}, Case{"app = 'x'", "column 5"},
                 Case{"(app == 'x'", "column 12"}, Case{"app == 'x' &&", "column 14"},
                 Case{"app in {'a' 'b'}", "column 13"}, Case{"app == 'x", "column 8"},
                 Case{"has(app", "column 8"}, Case{"app == 'x' app", "column 12"},
                 Case{"!= 'x'", "column 1"}, Case{"app starts 'x'", "column 12"},
                 Case{"app not {'x'}", "column 9"}}) {
    Result<Selector> s = Selector::parse(c.text);
    ASSERT_FALSE(s.has_value()) << c.text;
    EXPECT_NE(s.error().message.find(c.column), std::string::npos)
        << c.text << " -> " << s.error().message;
    EXPECT_NE(s.error().message.find("<here>"), std::string::npos);
  }
}

TEST(SelectorPrint, RoundTripsAndCanonicalizes) {
  for (const char* text :
       {"app == 'web'", "a == 'x' || b == 'y' && !has(c)", "k in {'b', 'a', 'a'}", "k not in {}",
        "v starts with \"it's\"", "(a == '1' || b == '2') && c != '3'", "all()", "global()",
        "x ends with 'z' && y contains 'q'"}) {
    Result<Selector> s = Selector::parse(text);
    ASSERT_TRUE(s.has_value()) << text;
    Result<Selector> again = Selector::parse(s->to_string());
    ASSERT_TRUE(again.has_value()) << s->to_string();
    EXPECT_EQ(s->to_string(), again->to_string());
  }
  EXPECT_EQ(Selector::parse("k in {'b','a','a'}")->to_string(), "k in {'a', 'b'}");
  EXPECT_EQ(*Selector::parse("a=='1'&&b=='2'"), *Selector::parse("a == '1' && b == '2'"));
}

TEST(LabelSelector, MatchLabelsIsAnAnd) {
  Selector s = *Selector::from_label_selector({{"app", "web"}, {"tier", "frontend"}}, {});
  EXPECT_TRUE(s.matches(kWeb));
  EXPECT_FALSE(s.matches({{"app", "web"}}));
}

TEST(LabelSelector, EmptySelectsEverything) {
  Selector s = *Selector::from_label_selector({}, {});
  EXPECT_TRUE(s.is_all());
  EXPECT_TRUE(s.matches({}));
}

TEST(LabelSelector, Expressions) {
  using R = Selector::Requirement;
  auto m = [](R r, const Labels& l) {
    return Selector::from_label_selector({}, {std::move(r)})->matches(l);
  };
  EXPECT_TRUE(m(R{"app", "In", {"web", "db"}}, kWeb));
  EXPECT_FALSE(m(R{"app", "In", {"db"}}, kWeb));
  EXPECT_FALSE(m(R{"app", "NotIn", {"web"}}, kWeb));
  EXPECT_TRUE(m(R{"role", "NotIn", {"web"}}, kWeb));  // absent key: NotIn holds
  EXPECT_TRUE(m(R{"app", "Exists", {}}, kWeb));
  EXPECT_FALSE(m(R{"role", "Exists", {}}, kWeb));
  EXPECT_TRUE(m(R{"role", "DoesNotExist", {}}, kWeb));
  EXPECT_FALSE(m(R{"app", "DoesNotExist", {}}, kWeb));
}

TEST(LabelSelector, InvalidExpressionsAreErrors) {
  using R = Selector::Requirement;
  EXPECT_FALSE(Selector::from_label_selector({}, {R{"a", "In", {}}}).has_value());
  EXPECT_FALSE(Selector::from_label_selector({}, {R{"a", "Exists", {"x"}}}).has_value());
  Result<Selector> bad = Selector::from_label_selector({}, {R{"a", "Equals", {"x"}}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "matchExpressions[0].operator");
}

TEST(Selector, MentionsKey) {
  EXPECT_TRUE(Selector::parse("a == 'x' || !has(io.kubernetes.pod.namespace)")
                  ->mentions_key("io.kubernetes.pod.namespace"));
  EXPECT_FALSE(Selector::parse("a == 'x'")->mentions_key("b"));
}

}  // namespace
}  // namespace palisade::policy
