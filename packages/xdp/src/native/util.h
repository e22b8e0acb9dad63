/*
 * util.h: what the native files of @tunvs/xdp share besides native/tunvs-napi.h (the N-API
 * helpers of every addon): the single-producer/single-consumer ring arithmetic of AF_XDP rings.
 */
#ifndef TUNVS_XDP_UTIL_H
#define TUNVS_XDP_UTIL_H

#include "tunvs-napi.h" /* errors, arguments, values: shared with the other addons */

#include <sys/mman.h>
#include <sys/types.h>

/* Map `len` bytes of a socket's rings (AF_XDP or TPACKET_V3) at offset `pgoff`, read/write,
 * shared with the kernel and populated now; 0 and *out set, or -1 with errno. */
static inline int xd_map_ring(int fd, off_t pgoff, size_t len, void **out) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
  if (p == MAP_FAILED) return -1;
  *out = p;
  return 0;
}

/* ---------------------------------------------------------------- rings */

/*
 * One AF_XDP ring as the kernel lays it out: free-running 32-bit producer and consumer
 * indices (they wrap at 2^32, so every difference is taken modulo 2^32), a flags word, and
 * `size` descriptors (size a power of two; entry i lives at i & mask). We are either the
 * producer (fill, TX) or the consumer (RX, completion) of a ring, never both. `cached_*`
 * hold our own index and the last value we read of the other side's, so the shared cache
 * line is touched only when the cached view says the ring is full/empty.
 */
typedef struct xd_ring {
  uint32_t *producer;
  uint32_t *consumer;
  uint32_t *flags;
  void *descs;
  uint32_t size;
  uint32_t mask;
  uint32_t cached_prod;
  uint32_t cached_cons;
} xd_ring_t;

/* Producer side: how many entries can be written now (at most `want`). */
static inline uint32_t xd_prod_free(xd_ring_t *r, uint32_t want) {
  uint32_t free = r->size - (r->cached_prod - r->cached_cons);
  if (free >= want) return want;
  r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
  free = r->size - (r->cached_prod - r->cached_cons);
  return free < want ? free : want;
}

/* Producer side: publish `n` entries written at cached_prod .. cached_prod + n - 1. */
static inline void xd_prod_submit(xd_ring_t *r, uint32_t n) {
  r->cached_prod += n;
  __atomic_store_n(r->producer, r->cached_prod, __ATOMIC_RELEASE);
}

/* Consumer side: how many entries are ready (at most `want`), starting at cached_cons. */
static inline uint32_t xd_cons_avail(xd_ring_t *r, uint32_t want) {
  uint32_t avail = r->cached_prod - r->cached_cons;
  if (avail < want) {
    r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
    avail = r->cached_prod - r->cached_cons;
  }
  return avail < want ? avail : want;
}

/* Consumer side, without the lock that guards the ring's cached indices: whether the
 * producer has published anything past our consumer index (writes nothing). */
static inline bool xd_cons_avail_peek(const xd_ring_t *r) {
  return __atomic_load_n(r->producer, __ATOMIC_ACQUIRE) != __atomic_load_n(r->consumer, __ATOMIC_RELAXED);
}

/* Consumer side: give `n` entries back to the producer. */
static inline void xd_cons_release(xd_ring_t *r, uint32_t n) {
  r->cached_cons += n;
  __atomic_store_n(r->consumer, r->cached_cons, __ATOMIC_RELEASE);
}

/* A small id (1..65535) of the calling thread's napi_env, set when the addon loads there. */
uint16_t xd_env_group(napi_env env);

/* Register the model functions used by the unit tests (ring arithmetic without a kernel). */
void xd_ring_model_init(napi_env env, napi_value exports);

/* In an open function with `int err` and `const char *what` and a `fail:` label. */
#define XD_FAIL(call) \
  do {                \
    err = errno;      \
    what = (call);    \
    goto fail;        \
  } while (0)

#endif
