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

/// Registers the process for private expedited membarrier; 1 when `vigil_heavy_barrier` works.
int vigil_heavy_barrier_register(void);

/// A full memory barrier on every running thread of the process; 0 on success, -1 on failure.
int vigil_heavy_barrier(void);

#endif
