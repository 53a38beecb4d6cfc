// moodycamel::ConcurrentQueue moving the same 40-byte item, with producer tokens and bulk
// operations in batches of 64. It is an unbounded queue (enqueue_bulk allocates blocks as it
// needs them), so unlike the bounded Vigil rings it never makes a producer wait.
#include <concurrentqueue/concurrentqueue.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

struct Item { long long time; double value; unsigned name, source, unit, labels; unsigned char kind, lane; };
static_assert(sizeof(Item) == 40, "same size as VigilCore.Event");

static double run(int producers, long long total, bool bulk = true) {
    const size_t capacity = 65536, batch = 64;
    moodycamel::ConcurrentQueue<Item> q(capacity, producers, 0);
    long long per = total / producers, n = per * producers;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; p++) threads.emplace_back([&, p] {
        moodycamel::ProducerToken tok(q);
        Item buf[64];
        while (!go.load()) {}
        for (long long i = 0; i < per;) {
            size_t k = (size_t)std::min<long long>(batch, per - i);
            for (size_t j = 0; j < k; j++) buf[j] = Item{i + (long long)j, (double)(i + j), 1, (unsigned)p + 1, 0, 0, 1, 1};
            if (bulk) q.enqueue_bulk(tok, buf, k);
            else for (size_t j = 0; j < k; j++) q.enqueue(tok, buf[j]);
            i += k;
        }
    });
    double sum = 0;
    std::thread consumer([&] {
        moodycamel::ConsumerToken tok(q);
        Item out[1024];
        while (!go.load()) {}
        for (long long got = 0; got < n;) {
            size_t k = q.try_dequeue_bulk(tok, out, 1024);
            for (size_t j = 0; j < k; j++) sum += out[j].value;
            got += k;
        }
    });
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
    double b1 = 0, b4 = 0, s1 = 0;
    for (int r = 0; r < 3; r++) {
        b1 = std::max(b1, run(1, total)); b4 = std::max(b4, run(4, total)); s1 = std::max(s1, run(1, total, false));
    }
    std::printf("moodycamel_1p1c %lld\nmoodycamel_4p1c %lld\nmoodycamel_single_1p1c %lld\n", (long long)b1, (long long)b4, (long long)s1);
}
