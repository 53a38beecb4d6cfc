#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (libclang_rt.fuzzer): runs the fuzzing loop with `callback` as the target.
/// Called from each target's main, because SwiftPM renames an executable's entry point and so
/// libFuzzer's own `main` is never linked.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
