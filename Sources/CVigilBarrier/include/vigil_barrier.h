// Asymmetric memory barriers for the EventBus (see Sources/VigilBus/EventBus.swift, "Parking").
//
// A producer publishes an event and then reads whether the consumer is parked; the consumer
// announces it is parking and then looks for events. Each side needs its store ordered before
// its load (a Dekker handshake). Producers publish millions of times a second and the consumer
// parks rarely, so the cost goes to the consumer: it calls membarrier(2), which puts a full
// barrier on every thread of the process, and producers need only stop the compiler from
// reordering (`vigil_light_barrier`). Where membarrier is unavailable, producers use a real fence.
#ifndef VIGIL_BARRIER_H
#define VIGIL_BARRIER_H

/// Keeps the compiler from moving memory accesses across this point; emits no instruction.
static inline void vigil_light_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

/// Tells the CPU this is a polling loop (x86 PAUSE, arm64 YIELD): fewer memory-order machine
/// clears on the polled line, and a pause that leaves the line to its writer a little longer.
static inline void vigil_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Registers the process for private expedited membarrier; 1 when `vigil_heavy_barrier` works.
int vigil_heavy_barrier_register(void);

/// A full memory barrier on every running thread of the process; 0 on success, -1 on failure.
int vigil_heavy_barrier(void);

#endif
