//===- ThreadPoolTest.cpp - The runtime's parallel_for --------------------===//

#include "tessera/Runtime/Runtime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {
struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::atomic<int64_t> chunks{0};
  int64_t grain = 1;
  std::atomic<bool> chunkTooSmall{false};
  explicit Coverage(int64_t n) : hits(size_t(n)) {}
};

void mark(void *context, int64_t begin, int64_t end) {
  auto *c = static_cast<Coverage *>(context);
  if (end - begin < c->grain && end != int64_t(c->hits.size()))
    c->chunkTooSmall = true;
  for (int64_t i = begin; i < end; ++i)
    c->hits[size_t(i)]++;
  c->chunks++;
}
} // namespace

TEST(ThreadPool, EveryIterationExactlyOnce) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {1, 2, 7, 100, 1000, 100003}) {
      tessera_rt_set_num_threads(threads);
      Coverage c(n);
      c.grain = 3;
      tessera_rt_parallel_for(n, c.grain, 0, mark, &c);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(c.hits[size_t(i)].load(), 1) << "n " << n << " i " << i;
      EXPECT_FALSE(c.chunkTooSmall.load());
    }
  tessera_rt_set_num_threads(0);
}

namespace {
struct Chunks {
  std::mutex lock;
  std::vector<std::pair<int64_t, int64_t>> taken;
};
void recordChunk(void *context, int64_t begin, int64_t end) {
  auto *c = static_cast<Chunks *>(context);
  std::lock_guard<std::mutex> guard(c->lock);
  c->taken.push_back({begin, end});
}
} // namespace

TEST(ThreadPool, ChunksShrinkWithWhatIsLeft) {
  // Guided scheduling: a chunk is at most 1 / (2 * threads) of what was
  // left when it was taken (or the smallest chunk, n / (32 * threads)), so
  // that threads finish together. A fixed chunk of n / (4 * threads) gave
  // one of 2 threads 24 of 43 column tiles.
  for (int threads : {2, 3})
    for (int64_t n : {43, 1000, 100003}) {
      tessera_rt_set_num_threads(threads);
      Chunks c;
      tessera_rt_parallel_for(n, 1, 0, recordChunk, &c);
      int64_t smallest = std::max<int64_t>(1, n / (32 * threads)), covered = 0;
      for (auto [begin, end] : c.taken) {
        EXPECT_LE(end - begin, std::max(smallest, (n - begin) / (2 * threads)))
            << "n " << n << " threads " << threads << " chunk at " << begin;
        covered += end - begin;
      }
      EXPECT_EQ(covered, n);
    }
  tessera_rt_set_num_threads(0);
}

namespace {
struct Threads {
  std::mutex lock;
  std::set<std::thread::id> seen;
};
void record(void *context, int64_t, int64_t) {
  auto *t = static_cast<Threads *>(context);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::lock_guard<std::mutex> guard(t->lock);
  t->seen.insert(std::this_thread::get_id());
}
void nested(void *context, int64_t begin, int64_t end) {
  // A parallel_for inside a body runs serially on this thread.
  Coverage inner(10);
  tessera_rt_parallel_for(10, 1, 0, mark, &inner);
  for (auto &h : inner.hits)
    EXPECT_EQ(h.load(), 1);
  mark(context, begin, end);
}
} // namespace

TEST(ThreadPool, UsesAtMostTheRequestedThreads) {
  for (int threads : {1, 2, 4}) {
    tessera_rt_set_num_threads(threads);
    EXPECT_EQ(tessera_rt_num_threads(), threads);
    Threads t;
    tessera_rt_parallel_for(64, 1, 0, record, &t);
    EXPECT_LE(int(t.seen.size()), threads);
    if (threads > 1)
      EXPECT_GE(int(t.seen.size()), 2);
  }
  tessera_rt_set_num_threads(0);
  EXPECT_GE(tessera_rt_num_threads(), 1);
}

TEST(ThreadPool, MaxThreadsCapsTheCount) {
  tessera_rt_set_num_threads(4);
  Threads t;
  tessera_rt_parallel_for(64, 1, 2, record, &t);
  EXPECT_LE(int(t.seen.size()), 2);
  Threads serial;
  tessera_rt_parallel_for(64, 1, 1, record, &serial);
  EXPECT_EQ(int(serial.seen.size()), 1);
  tessera_rt_set_num_threads(0);
}

TEST(ThreadPool, NestedCallsAndEmptyRanges) {
  tessera_rt_set_num_threads(4);
  Coverage c(50);
  tessera_rt_parallel_for(50, 1, 0, nested, &c);
  for (auto &h : c.hits)
    EXPECT_EQ(h.load(), 1);
  Coverage none(1);
  tessera_rt_parallel_for(0, 1, 0, mark, &none);
  tessera_rt_parallel_for(-5, 1, 0, mark, &none);
  EXPECT_EQ(none.chunks.load(), 0);
  tessera_rt_set_num_threads(0);
}

TEST(Runtime, MemrefCopyStrided) {
  // Copy a 3x4 column-major view into a row-major buffer.
  float source[12], dest[12] = {};
  for (int i = 0; i < 12; ++i)
    source[i] = float(i);
  int64_t srcDesc[] = {int64_t(intptr_t(source)), int64_t(intptr_t(source)), 0, 3, 4, 1, 3};
  int64_t dstDesc[] = {int64_t(intptr_t(dest)), int64_t(intptr_t(dest)), 0, 3, 4, 4, 1};
  TesseraUnrankedMemRef src{2, srcDesc}, dst{2, dstDesc};
  memrefCopy(sizeof(float), &src, &dst);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(dest[r * 4 + c], source[r + 3 * c]);
}
