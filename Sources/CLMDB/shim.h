#ifndef CLMDB_SHIM_H
#define CLMDB_SHIM_H
#include <lmdb.h>
#include <malloc.h>

/* One glibc malloc arena (AddressSpace.adapt: under `ulimit -v`, each arena reserves 64 MiB). */
static inline int clmdb_single_malloc_arena(void) {
#ifdef M_ARENA_MAX
    return mallopt(M_ARENA_MAX, 1);
#else
    return 0;
#endif
}
#endif
