/* Ends the target region opened by target_avx2_begin.h or target_avx512_begin.h. */
#if defined(RCML_ARCH_OBJECTS)
/* nothing to end: the whole object has the ISA's /arch flag */
#elif defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
