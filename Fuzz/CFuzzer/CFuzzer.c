// Declarations only (include/CFuzzer.h); the definitions come from libclang_rt.fuzzer.
