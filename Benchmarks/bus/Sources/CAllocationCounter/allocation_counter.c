// Counts heap allocations and Swift retains for `make bench-bus`, to show that publishing and
// draining events allocates nothing and touches no reference count. The executable defines
// malloc & co., so every library in the process (the Swift runtime, Foundation) calls these,
// which forward to glibc's own entry points.
#define _GNU_SOURCE
#include "allocation_counter.h"
#include <errno.h>
#include <stddef.h>
#include <dlfcn.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t allocations;

static inline void count_allocation(void) { __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED); }

void *malloc(size_t size) { count_allocation(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { count_allocation(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { count_allocation(); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { count_allocation(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count_allocation(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    count_allocation();
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

uint64_t vigil_allocation_count(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }

// Swift strong retains: this executable defines swift_retain and swift_retain_n, so calls from
// code compiled into it (VigilBus and the benchmark) reach these, which forward to the runtime's.
// (The runtime's own "_swift_retain" hooks are not usable here: their adapter masks tagged
// pointers before calling the hook.)
static void *(*runtime_retain)(void *);
static void *(*runtime_retain_n)(void *, uint32_t);
static uint64_t retains;
static int counting_retains;

static void resolve(void) {
    if (!__atomic_load_n(&runtime_retain, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&runtime_retain_n, (void *(*)(void *, uint32_t))dlsym(RTLD_NEXT, "swift_retain_n"), __ATOMIC_RELEASE);
        __atomic_store_n(&runtime_retain, (void *(*)(void *))dlsym(RTLD_NEXT, "swift_retain"), __ATOMIC_RELEASE);
    }
}

void *swift_retain(void *object) {
    resolve();
    if (__atomic_load_n(&counting_retains, __ATOMIC_RELAXED)) __atomic_fetch_add(&retains, 1, __ATOMIC_RELAXED);
    return runtime_retain(object);
}

void *swift_retain_n(void *object, uint32_t n) {
    resolve();
    if (__atomic_load_n(&counting_retains, __ATOMIC_RELAXED)) __atomic_fetch_add(&retains, n, __ATOMIC_RELAXED);
    return runtime_retain_n(object, n);
}

uint64_t vigil_retain_count(void) { return __atomic_load_n(&retains, __ATOMIC_RELAXED); }

int vigil_install_retain_counter(void) {
    resolve();
    __atomic_store_n(&counting_retains, 1, __ATOMIC_RELAXED);
    return runtime_retain != 0 && runtime_retain_n != 0;
}
