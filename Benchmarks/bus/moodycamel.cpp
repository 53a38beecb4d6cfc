// moodycamel::ConcurrentQueue (Debian libconcurrentqueue-dev) moving the same 40-byte item as
// the Swift benchmark, with the same chances: a producer token per producer thread (moodycamel's
// own per-producer sub-queue, the counterpart of a Vigil BusProducer), items built in a local
// buffer of 64, and a consumer token taking up to 1024 at a time and reading each item's value.
//
// Two queues, each driven two ways:
//   bounded   - each producer's sub-queue holds at most PRODUCER_CAPACITY items (the
//               MAX_SUBQUEUE_SIZE trait, set at compile time to the Vigil producer rings' capacity);
//               an enqueue fails when it is full and the producer retries, as with every other
//               queue measured here. (try_enqueue is no bound: explicit producers never hand
//               blocks back to the shared pool, so with 4 producers one can starve the others.)
//   unbounded - the default traits: an enqueue allocates more blocks whenever it wants, so a
//               producer never waits for the consumer.
//   batch     - enqueue_bulk of the 64 items;
//   single    - enqueue(token, item) once per item (a quarter as many items: EVENTS / 4).
//
// A bounded producer finding its sub-queue full yields the CPU and retries, like every producer in
// the Swift harness; it is also measured spinning instead, and the better figure is reported.
//
// Usage: moodycamel-bench EVENTS RUNS; prints "key value" lines.
#include <concurrentqueue/concurrentqueue.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

struct Item { long long time; double value; unsigned name, source, unit, labels; unsigned char kind, lane; };
static_assert(sizeof(Item) == 40, "same size as VigilCore.Event");

#ifndef PRODUCER_CAPACITY
#define PRODUCER_CAPACITY 8192
#endif

struct BoundedTraits : public moodycamel::ConcurrentQueueDefaultTraits {
    static const size_t MAX_SUBQUEUE_SIZE = PRODUCER_CAPACITY;
};

enum class Mode { bounded, unbounded, boundedSingle, unboundedSingle };

/// What a bounded producer does when its sub-queue is full: yield the CPU (the rule every queue
/// in the benchmark follows) or spin. Both are measured and the better one reported, so the
/// baseline is never handicapped by the rule.
static bool yieldWhenFull = true;
static inline void full() { if (yieldWhenFull) std::this_thread::yield(); }

template <typename Traits>
static double run(int producers, long long total, Mode mode) {
    const size_t batch = 64;
    moodycamel::ConcurrentQueue<Item, Traits> q(PRODUCER_CAPACITY, producers, 0);
    long long per = total / producers, n = per * producers;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; p++) threads.emplace_back([&, p] {
        moodycamel::ProducerToken tok(q);
        Item buf[64];
        ready++;
        while (!go.load()) {}
        for (long long i = 0; i < per;) {
            size_t k = (size_t)std::min<long long>(batch, per - i);
            for (size_t j = 0; j < k; j++) buf[j] = Item{i + (long long)j, (double)(i + j), 1, (unsigned)p + 1, 0, 0, 1, 1};
            switch (mode) {
            case Mode::unbounded: q.enqueue_bulk(tok, buf, k); break;
            case Mode::bounded: while (!q.enqueue_bulk(tok, buf, k)) full(); break;
            case Mode::boundedSingle:
                for (size_t j = 0; j < k; j++) while (!q.enqueue(tok, buf[j])) full();
                break;
            case Mode::unboundedSingle:
                for (size_t j = 0; j < k; j++) q.enqueue(tok, buf[j]);
                break;
            }
            i += k;
        }
    });
    double sum = 0;
    std::thread consumer([&] {
        moodycamel::ConsumerToken tok(q);
        static Item out[1024];
        ready++;
        while (!go.load()) {}
        for (long long got = 0; got < n;) {
            size_t k = q.try_dequeue_bulk(tok, out, 1024);
            for (size_t j = 0; j < k; j++) sum += out[j].value;
            got += k;
        }
    });
    while (ready.load() < producers + 1) {}
    auto t0 = std::chrono::steady_clock::now();
    go.store(true);
    for (auto& t : threads) t.join();
    consumer.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sum < 0) std::printf("%f\n", sum);
    return n / s;
}

int main(int argc, char** argv) {
    long long total = argc > 1 ? atoll(argv[1]) : 20000000;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    using Unbounded = moodycamel::ConcurrentQueueDefaultTraits;
    double b1 = 0, b4 = 0, u1 = 0, u4 = 0, s1 = 0, s4 = 0, us1 = 0, us4 = 0;
    for (int r = 0; r < runs; r++) {
        u1 = std::max(u1, run<Unbounded>(1, total, Mode::unbounded));
        u4 = std::max(u4, run<Unbounded>(4, total, Mode::unbounded));
        us1 = std::max(us1, run<Unbounded>(1, total / 4, Mode::unboundedSingle));
        us4 = std::max(us4, run<Unbounded>(4, total / 4, Mode::unboundedSingle));
        for (bool y : {true, false}) {
            yieldWhenFull = y;
            b1 = std::max(b1, run<BoundedTraits>(1, total, Mode::bounded));
            b4 = std::max(b4, run<BoundedTraits>(4, total, Mode::bounded));
            s1 = std::max(s1, run<BoundedTraits>(1, total / 4, Mode::boundedSingle));
            s4 = std::max(s4, run<BoundedTraits>(4, total / 4, Mode::boundedSingle));
        }
    }
    std::printf("moodycamel_batch_1p1c %lld\nmoodycamel_batch_4p1c %lld\nmoodycamel_bounded_batch_1p1c %lld\n"
                "moodycamel_bounded_batch_4p1c %lld\nmoodycamel_bounded_single_1p1c %lld\n"
                "moodycamel_bounded_single_4p1c %lld\nmoodycamel_single_1p1c %lld\nmoodycamel_single_4p1c %lld\n",
                (long long)u1, (long long)u4, (long long)b1, (long long)b4, (long long)s1, (long long)s4,
                (long long)us1, (long long)us4);
}
