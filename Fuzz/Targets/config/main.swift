#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport

confine()
exit(fuzzMain(fuzzConfig))
