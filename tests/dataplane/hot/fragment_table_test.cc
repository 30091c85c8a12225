#include "dataplane/hot/fragment_table.h"

#include <gtest/gtest.h>

namespace palisade::dataplane {
namespace {

ParsedPacket fragment(uint32_t id, uint16_t offset, uint16_t bytes, uint8_t src_last = 1) {
  ParsedPacket p;
  p.kind = L3Kind::Ipv4;
  p.proto = 17;
  p.src[0] = 10;
  p.src[3] = src_last;
  p.dst[0] = 10;
  p.dst[3] = 2;
  p.fragment = true;
  p.first_fragment = offset == 0;
  p.fragment_id = id;
  p.fragment_offset = offset;
  p.fragment_bytes = bytes;
  return p;
}

TEST(FragmentTable, LaterFragmentsFollowTheFirstsVerdict) {
  FragmentTable t(1000);
  EXPECT_EQ(t.on_first(fragment(7, 0, 1480), true, 0), std::nullopt);
  auto v = t.on_later(fragment(7, 1480, 1480), 10);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.drop, std::nullopt);
  EXPECT_EQ(t.on_first(fragment(8, 0, 1480), false, 0), std::nullopt);
  v = t.on_later(fragment(8, 1480, 100), 10);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.drop, std::nullopt);  // a policy decision, not a malformed packet
}

TEST(FragmentTable, AFragmentWithoutItsFirstIsAnOrphan) {
  FragmentTable t(1000);
  EXPECT_EQ(t.on_later(fragment(7, 1480, 100), 0).drop, Drop::OrphanFragment);
  // Another source with the same id is another datagram.
  t.on_first(fragment(7, 0, 1480, 1), true, 0);
  EXPECT_EQ(t.on_later(fragment(7, 1480, 100, 9), 0).drop, Drop::OrphanFragment);
}

TEST(FragmentTable, EntriesExpire) {
  FragmentTable t(100);
  t.on_first(fragment(7, 0, 1480), true, 0);
  EXPECT_EQ(t.in_use(50), 1u);
  EXPECT_EQ(t.on_later(fragment(7, 1480, 100), 150).drop, Drop::OrphanFragment);
  EXPECT_EQ(t.in_use(150), 0u);
}

TEST(FragmentTable, OverlapsRefuseTheWholeDatagram) {
  // RFC 5722: overlapping pieces are how policy-evading rewrites hide.
  FragmentTable t(1000);
  t.on_first(fragment(7, 0, 1480), true, 0);
  EXPECT_EQ(t.on_later(fragment(7, 1472, 100), 1).drop, Drop::OverlappingFragment);
  EXPECT_EQ(t.on_later(fragment(7, 2960, 100), 2).drop, Drop::OverlappingFragment);
  // A second first fragment of a live datagram overlaps the first.
  t.on_first(fragment(9, 0, 1480), true, 0);
  EXPECT_EQ(t.on_first(fragment(9, 0, 8), true, 1), Drop::OverlappingFragment);
}

TEST(FragmentTable, PiecesBeyondTheBoundAreRefused) {
  FragmentTable t(1000);
  t.on_first(fragment(7, 0, 8), true, 0);
  for (size_t i = 1; i < FragmentTable::kMaxPieces; ++i) {
    ASSERT_EQ(t.on_later(fragment(7, uint16_t(8 * i), 8), 1).drop, std::nullopt) << i;
  }
  EXPECT_EQ(t.on_later(fragment(7, uint16_t(8 * FragmentTable::kMaxPieces), 8), 1).drop,
            Drop::TooManyFragments);
}

TEST(FragmentTable, AFullBucketEvictsTheEntryClosestToExpiry) {
  FragmentTable t(1000);
  // Fill far more datagrams than the table holds: it keeps working, and the newest survive.
  const uint32_t total = FragmentTable::kBuckets * FragmentTable::kWays * 4;
  for (uint32_t id = 0; id < total; ++id) {
    ASSERT_EQ(t.on_first(fragment(id, 0, 1480), true, id), std::nullopt);
  }
  EXPECT_LE(t.in_use(total), FragmentTable::kBuckets * FragmentTable::kWays);
  EXPECT_EQ(t.on_later(fragment(total - 1, 1480, 10), total).drop, std::nullopt);
}

}  // namespace
}  // namespace palisade::dataplane
