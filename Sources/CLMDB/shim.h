#ifndef CLMDB_SHIM_H
#define CLMDB_SHIM_H
#include <lmdb.h>
#include <malloc.h>
#include <sys/prctl.h>

/* One glibc malloc arena (AddressSpace.adapt: under `ulimit -v`, each arena reserves 64 MiB). */
static inline int clmdb_single_malloc_arena(void) {
#ifdef M_ARENA_MAX
    return mallopt(M_ARENA_MAX, 1);
#else
    return 0;
#endif
}
/* Names the calling thread (at most 15 bytes are kept), for ps, top and gdb (Threads.start). */
static inline int clmdb_name_thread(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}
#endif
