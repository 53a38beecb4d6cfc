#ifndef VIGIL_ALLOCATION_COUNTER_H
#define VIGIL_ALLOCATION_COUNTER_H
#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made by any
/// thread of this process since it started. Counted by interposing the allocator in this executable.
uint64_t vigil_allocation_count(void);

/// Swift strong retains (swift_retain, swift_retain_n) made by code compiled into this executable
/// since `vigil_install_retain_counter`.
uint64_t vigil_retain_count(void);

/// Starts counting retains; returns 0 if the runtime's entry points could not be found.
int vigil_install_retain_counter(void);

#endif
