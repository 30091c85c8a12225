#include "control/verify/classbench_export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace palisade::control {
namespace {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    out.push_back(l);
  }
  return out;
}

policy::AclRule rule(const char* src, const char* dst, uint8_t proto_first, uint8_t proto_last,
                     int32_t priority) {
  policy::AclRule r;
  r.src = *policy::Cidr::parse(src);
  r.dst = *policy::Cidr::parse(dst);
  r.proto_first = proto_first;
  r.proto_last = proto_last;
  r.dport = {80, 80};
  r.priority = priority;
  r.verdict = 1;
  return r;
}

TEST(ClassBenchExport, UnalignedProtocolRangesSplitIntoBlocks) {
  policy::CompiledPolicy p;
  p.rules_v4 = {rule("0.0.0.0/0", "0.0.0.0/0", 5, 9, 1)};  // 5, 6-7, 8-9
  const std::string dir = std::filesystem::temp_directory_path() / "palisade_cb_test2";
  ASSERT_TRUE(export_classbench(p, dir, 0).has_value());
  std::vector<std::string> r4 = lines(dir + "/rules4.cb");
  ASSERT_EQ(r4.size(), 3u);
  EXPECT_NE(r4[0].find("0x05/0xff"), std::string::npos);
  EXPECT_NE(r4[1].find("0x06/0xfe"), std::string::npos);
  EXPECT_NE(r4[2].find("0x08/0xfe"), std::string::npos);
}

TEST(ClassBenchExport, RulesKeepPriorityOrderAndProtocolRangesBecomeMasks) {
  policy::CompiledPolicy p;
  p.rules_v4 = {rule("10.0.0.0/8", "0.0.0.0/0", 6, 6, 10),
                rule("10.1.0.0/16", "192.0.2.0/24", 0, 255, 20),
                rule("0.0.0.0/0", "0.0.0.0/0", 4, 7, 5)};
  p.rules_v6 = {rule("fd00::/64", "::/0", 17, 17, 1)};
  p.endpoints = {{*policy::IpAddr::parse("10.1.0.1"), 1, 2, "a"},
                 {*policy::IpAddr::parse("10.1.0.2"), 1, 2, "b"}};
  const std::string dir = std::filesystem::temp_directory_path() / "palisade_cb_test";
  auto counts = export_classbench(p, dir, 10);
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->rules4, 3u);  // 4-7 is one aligned block of 4: 0x04/0xfc
  EXPECT_EQ(counts->traces4, 10u);
  std::vector<std::string> r4 = lines(dir + "/rules4.cb");
  ASSERT_EQ(r4.size(), 3u);
  EXPECT_EQ(r4[0], "@10.1.0.0/16\t192.0.2.0/24\t0 : 65535\t80 : 80\t0x00/0x00");
  EXPECT_EQ(r4[1], "@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x06/0xff");
  EXPECT_EQ(r4[2], "@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x04/0xfc");
  std::vector<std::string> r6 = lines(dir + "/rules6.cb");
  ASSERT_EQ(r6.size(), 1u);
  EXPECT_EQ(r6[0].substr(0, 45), "@fd00:0000:0000:0000:0000:0000:0000:0000/64\t0");
  std::vector<std::string> t4 = lines(dir + "/trace4.cb");
  ASSERT_EQ(t4.size(), 10u);
  // Traces run between the endpoints, as 32-bit numbers: 10.1.0.1 is 167837697.
  std::istringstream first(t4[0]);
  uint64_t src = 0, dst = 0, sport = 0, dport = 0, proto = 0;
  first >> src >> dst >> sport >> dport >> proto;
  EXPECT_TRUE(src == 167837697 || src == 167837698);
  EXPECT_EQ(dport, 80u);
  EXPECT_EQ(proto, 6u);
}

}  // namespace
}  // namespace palisade::control
