/*
 * util.h: helpers shared by the native files of @tunvs/xdp (plain N-API, no node-addon-api):
 * argument reading, errors thrown as Error objects with `code`, `errno` and `syscall`, and
 * the single-producer/single-consumer ring arithmetic used by AF_XDP rings.
 */
#ifndef TUNVS_XDP_UTIL_H
#define TUNVS_XDP_UTIL_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

/* The errno name ("EPERM"), or "EUNKNOWN". */
const char *xd_errno_name(int e);
/* Throw Error("<syscall> failed: <NAME> (<strerror>)") with code/errno/syscall set. */
void xd_throw_errno(napi_env env, int err, const char *syscall);
/* Throw an Error with a code and a message (for our own argument checks). */
void xd_throw(napi_env env, const char *code, const char *msg);

/* ---------------------------------------------------------------- arguments */

/* Read exactly `want` arguments (throws and returns -1 when fewer were given). */
int xd_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int32_t xd_i32(napi_env env, napi_value v);
uint32_t xd_u32(napi_env env, napi_value v);
double xd_f64(napi_env env, napi_value v);
bool xd_bool(napi_env env, napi_value v);
napi_value xd_int(napi_env env, int64_t x);
napi_value xd_undef(napi_env env);
napi_value xd_boolv(napi_env env, bool b);
/* Data and element count of a typed array of type `want` (throws and returns -1 otherwise). */
int xd_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len);
/* Copy a string argument into `out` (size `cap`, NUL-terminated); -1 (thrown) when too long. */
int xd_string(napi_env env, napi_value v, char *out, size_t cap, const char *what);
/* The pointer held by an External (throws and returns NULL when it is not one). */
void *xd_external(napi_env env, napi_value v, const char *what);
/* obj[name] = value helpers */
void xd_set_int(napi_env env, napi_value obj, const char *name, int64_t x);
void xd_set_str(napi_env env, napi_value obj, const char *name, const char *s);
void xd_set_bool(napi_env env, napi_value obj, const char *name, bool b);

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

#define XD_FN(name) static napi_value name(napi_env env, napi_callback_info info)
#define XD_PROP(jsname, fn) {jsname, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

#endif
