// TCP window tracking (dataplane/hot/tcp_window.h), against the checks of Linux's
// tcp_in_window: handshake, data and acks both ways, off-path injection, RST in and out of
// the window, retransmissions, sequence wraparound, window scaling, mid-stream pickup, and
// the two directions updated from two threads at once.
#include "dataplane/hot/tcp_window.h"

#include <gtest/gtest.h>

#include <thread>

namespace palisade::dataplane {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
constexpr unsigned kClient = 0, kServer = 1;

TcpSegment seg(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t data = 0,
               uint32_t window = 65535, uint8_t wscale = 0xff) {
  const uint32_t len = data + ((flags & kSyn) != 0 ? 1 : 0) + ((flags & kFin) != 0 ? 1 : 0);
  return TcpSegment{seq, ack, window, len, flags, wscale};
}

// A connection after its handshake: client ISN c, server ISN s.
struct Connection {
  TcpWindow w{};
  uint32_t c, s;
  Connection(uint32_t client_isn, uint32_t server_isn, uint8_t client_scale = 0xff,
             uint8_t server_scale = 0xff, uint32_t window = 65535)
      : c(client_isn), s(server_isn) {
    EXPECT_TRUE(tcp_in_window(w, kClient, seg(c, 0, kSyn, 0, window, client_scale)));
    EXPECT_TRUE(tcp_in_window(w, kServer, seg(s, c + 1, kSyn | kAck, 0, window, server_scale)));
    EXPECT_TRUE(tcp_in_window(w, kClient, seg(c + 1, s + 1, kAck, 0, window)));
    c += 1;
    s += 1;
  }
  // Data from one side, in order, then the other side's ack of it.
  bool exchange(unsigned from, uint32_t bytes) {
    uint32_t& mine = from == kClient ? c : s;
    uint32_t& theirs = from == kClient ? s : c;
    const bool sent = tcp_in_window(w, from, seg(mine, theirs, kAck | kPsh, bytes));
    mine += bytes;
    const bool acked = tcp_in_window(w, from ^ 1u, seg(theirs, mine, kAck));
    return sent && acked;
  }
};

TEST(TcpWindow, AHandshakeAndDataBothWaysAreInTheWindow) {
  Connection conn(1000, 5000);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(conn.exchange(kClient, 1400)) << i;
    EXPECT_TRUE(conn.exchange(kServer, 1400)) << i;
  }
}

TEST(TcpWindow, OffPathDataBeyondTheWindowOrAckingUnsentBytesIsRefused) {
  Connection conn(1000, 5000);
  // Beyond what the server allowed (its ack plus its window).
  EXPECT_FALSE(tcp_in_window(conn.w, kClient, seg(conn.c + 70000, conn.s, kAck | kPsh, 10)));
  EXPECT_FALSE(tcp_in_window(conn.w, kClient, seg(conn.c + (1u << 31), conn.s, kAck, 10)));
  // Acking bytes the server never sent.
  EXPECT_FALSE(tcp_in_window(conn.w, kClient, seg(conn.c, conn.s + 100, kAck | kPsh, 10)));
  // A stale ack, far older than any window.
  EXPECT_FALSE(tcp_in_window(conn.w, kClient, seg(conn.c, conn.s - 100000, kAck | kPsh, 10)));
  // None of it moved the connection: real traffic still flows.
  EXPECT_TRUE(conn.exchange(kClient, 500));
  EXPECT_TRUE(conn.exchange(kServer, 500));
}

TEST(TcpWindow, ARstIsAcceptedInTheWindowOnly) {
  Connection conn(1000, 5000);
  EXPECT_FALSE(tcp_in_window(conn.w, kServer, seg(conn.s + 200000, 0, kRst)));
  EXPECT_FALSE(tcp_in_window(conn.w, kServer, seg(conn.s - 200000, conn.c, kRst | kAck)));
  EXPECT_TRUE(tcp_in_window(conn.w, kServer, seg(conn.s, conn.c, kRst | kAck)));
  // RST+ACK with ack 0, as some stacks send it: its ack is not held against it.
  Connection other(1000, 5000);
  EXPECT_TRUE(tcp_in_window(other.w, kServer, seg(other.s, 0, kRst | kAck)));
}

TEST(TcpWindow, RetransmissionsWithinAWindowPassAndOlderSegmentsDoNot) {
  Connection conn(1000, 5000);
  const uint32_t first = conn.c;
  ASSERT_TRUE(conn.exchange(kClient, 1000));
  ASSERT_TRUE(conn.exchange(kClient, 1000));
  // The first segment again, already acked: a retransmission, still inside a window.
  EXPECT_TRUE(tcp_in_window(conn.w, kClient, seg(first, conn.s, kAck | kPsh, 1000)));
  // Send a lot more, then the first one again: older than the receiver's window.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(conn.exchange(kClient, 1400));
  }
  EXPECT_FALSE(tcp_in_window(conn.w, kClient, seg(first, conn.s, kAck | kPsh, 1000)));
  // A SYN retransmitted during the handshake passes.
  TcpWindow w{};
  EXPECT_TRUE(tcp_in_window(w, kClient, seg(7, 0, kSyn)));
  EXPECT_TRUE(tcp_in_window(w, kClient, seg(7, 0, kSyn)));
}

TEST(TcpWindow, SequenceNumbersWrapAround) {
  Connection conn(0xffffff00u, 0xfffffff0u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(conn.exchange(kClient, 100)) << i;  // crosses 2^32 after a few
    EXPECT_TRUE(conn.exchange(kServer, 100)) << i;
  }
  EXPECT_LT(conn.c, 0x10000u);
  EXPECT_FALSE(tcp_in_window(conn.w, kClient, seg(conn.c + 0x80000000u, conn.s, kAck, 10)));
}

TEST(TcpWindow, WindowScalingHoldsOnlyWhenBothSynsOfferIt) {
  // Both offer scale 7: a window field of 1024 means 128 KiB, so a segment 100 KiB ahead of
  // the last ack is in it.
  Connection scaled(1000, 5000, 7, 7, 1024);
  ASSERT_TRUE(tcp_in_window(scaled.w, kServer, seg(scaled.s, scaled.c, kAck, 0, 1024)));
  EXPECT_TRUE(tcp_in_window(scaled.w, kClient, seg(scaled.c + 100000, scaled.s, kAck, 100, 1024)));
  // Only the client offers it: no scaling either way, and the same segment is out.
  Connection unscaled(1000, 5000, 7, 0xff, 1024);
  ASSERT_TRUE(tcp_in_window(unscaled.w, kServer, seg(unscaled.s, unscaled.c, kAck, 0, 1024)));
  EXPECT_FALSE(
      tcp_in_window(unscaled.w, kClient, seg(unscaled.c + 100000, unscaled.s, kAck, 100, 1024)));
}

TEST(TcpWindow, AConnectionPickedUpMidStreamIsNotChecked) {
  TcpWindow w{};
  for (TcpSide& side : w.side) {
    side.liberal = 1;
  }
  EXPECT_TRUE(tcp_in_window(w, kClient, seg(123456, 999, kAck | kPsh, 100)));
  EXPECT_TRUE(tcp_in_window(w, kServer, seg(1, 2, kAck | kPsh, 100)));
  EXPECT_TRUE(tcp_in_window(w, kClient, seg(5, 5, kRst)));
}

TEST(TcpWindow, TheTwoDirectionsUpdatedFromTwoThreadsNeverRefuseAnInOrderSegment) {
  // Each thread sends its direction's data in order, acking what the other has sent so far
  // (as a peer acks what it received), and never more than 60,000 bytes past what the other
  // has acked (flow control, as a real sender): no segment may be refused because the
  // other thread moved the state meanwhile.
  Connection conn(1000, 9000);
  std::atomic<uint32_t> sent[2] = {conn.c, conn.s};   // past the last byte each side sent
  std::atomic<uint32_t> acked[2] = {conn.c, conn.s};  // what the other side acked of it
  std::atomic<int> refused{0};
  std::atomic<int> done{0};
  auto run = [&](unsigned from) {
    uint32_t mine = sent[from].load();
    // A pure ACK of what the other side has sent so far.
    auto ack_only = [&] {
      const uint32_t theirs = sent[from ^ 1u].load(std::memory_order_acquire);
      if (!tcp_in_window(conn.w, from, seg(mine, theirs, kAck))) {
        refused.fetch_add(1);
      }
      acked[from ^ 1u].store(theirs, std::memory_order_release);
      std::this_thread::yield();
    };
    for (int i = 0; i < 200000; ++i) {
      while (mine + 100 - acked[from].load(std::memory_order_acquire) > 60000) {
        ack_only();  // the window is full: ack the other side until it acks us
      }
      const uint32_t theirs = sent[from ^ 1u].load(std::memory_order_acquire);
      if (!tcp_in_window(conn.w, from, seg(mine, theirs, kAck | kPsh, 100))) {
        refused.fetch_add(1);
      }
      acked[from ^ 1u].store(theirs, std::memory_order_release);
      mine += 100;
      sent[from].store(mine, std::memory_order_release);
    }
    done.fetch_add(1);
    while (done.load() < 2) {
      ack_only();  // the other side still needs our acks to send its last bytes
    }
  };
  std::thread a(run, kClient), b(run, kServer);
  a.join();
  b.join();
  EXPECT_EQ(refused.load(), 0);
}

}  // namespace
}  // namespace palisade::dataplane
