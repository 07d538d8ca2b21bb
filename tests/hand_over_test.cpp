// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The hand-over between the thread that reads the store at start and the one
// that indexes what it read (list/hand_over.hpp): everything given is taken,
// in order; the giver waits while `capacity` items wait; the taker can stop
// the giver; close() ends the taker once it has drained the rest.
#include "list/hand_over.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace xdpgate {
namespace {

TEST(HandOver, EverythingGivenIsTakenInOrderThenTheTakerEnds) {
  HandOver<int> items(3);
  std::vector<int> taken;
  std::thread taker([&] {
    while (std::optional<int> item = items.take())
      taken.push_back(*item);
  });
  for (int i = 0; i < 10000; ++i)
    ASSERT_TRUE(items.give(i));
  items.close();
  taker.join();
  ASSERT_EQ(taken.size(), 10000u);
  for (int i = 0; i < 10000; ++i)
    ASSERT_EQ(taken[i], i);
}

TEST(HandOver, WhatWaitsWhenClosedIsStillTaken) {
  HandOver<int> items(4);
  ASSERT_TRUE(items.give(1));
  ASSERT_TRUE(items.give(2));
  items.close();
  EXPECT_EQ(items.take(), 1);
  EXPECT_EQ(items.take(), 2);
  EXPECT_EQ(items.take(), std::nullopt);
}

// The giver of a fourth item waits until the taker takes one; the test
// waits for that taking, not for a time.
TEST(HandOver, TheGiverWaitsWhileCapacityItemsWait) {
  HandOver<int> items(3);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(items.give(i));
  std::atomic<bool> given{false};
  std::thread giver([&] {
    EXPECT_TRUE(items.give(3));
    given = true;
  });
  // Whatever the scheduling, the fourth cannot be in before a take.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(given);
  EXPECT_EQ(items.take(), 0);
  giver.join();
  EXPECT_TRUE(given);
  items.close();
  for (int expected : {1, 2, 3})
    EXPECT_EQ(items.take(), expected);
}

TEST(HandOver, AStoppedTakerEndsAWaitingGiver) {
  HandOver<int> items(1);
  ASSERT_TRUE(items.give(0));
  bool second = true;
  std::thread giver([&] { second = items.give(1); });
  items.stop();
  giver.join();
  EXPECT_FALSE(second);
  EXPECT_FALSE(items.give(2));
}

} // namespace
} // namespace xdpgate
