/* util.c: the ring model for unit tests (see util.h). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- ring model */

/*
 * ringModel(size, startIndex, ops: Int32Array, out: Float64Array) -> count
 *
 * Runs the ring helpers of util.h on an in-memory ring of `size` u64 entries whose producer
 * and consumer both start at `startIndex` (use a value near 2^32 to cross the wrap), with
 * us as the producer and a simulated peer as the consumer (and then the other way round,
 * when an op is negative). Each op:
 *    n > 0       produce: reserve up to n, write the next sequence numbers, submit
 *    n < 0       consume: take up to -n entries (as the peer would), check the sequence
 *    n == 0      refresh: consumer side reads how many are ready
 * After each op out[i] = entries moved (or ready), and out[ops.length] = the number of
 * sequence errors seen. This is what the unit tests use to check the index arithmetic
 * at the 2^32 wrap without a kernel.
 */
TN_FN(RingModel) {
  napi_value argv[4];
  if (tn_args(env, info, 4, argv)) return NULL;
  uint32_t size = tn_u32(env, argv[0]);
  uint32_t start = (uint32_t)tn_f64(env, argv[1]);
  void *opsp, *outp;
  size_t nops, nout;
  if (tn_typed(env, argv[2], napi_int32_array, &opsp, &nops)) return NULL;
  if (tn_typed(env, argv[3], napi_float64_array, &outp, &nout)) return NULL;
  if (size == 0 || (size & (size - 1)) != 0) {
    tn_throw(env, "EINVAL", "ring size must be a power of two");
    return NULL;
  }
  if (nout < nops + 1) {
    tn_throw(env, "EINVAL", "out must have ops.length + 1 entries");
    return NULL;
  }
  uint64_t *descs = calloc(size, sizeof *descs);
  uint32_t prod = start, cons = start, flags = 0;
  if (!descs) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  /* our producer view and the peer's consumer view of the same ring */
  xd_ring_t me = {&prod, &cons, &flags, descs, size, size - 1, start, start};
  xd_ring_t peer = {&prod, &cons, &flags, descs, size, size - 1, start, start};
  const int32_t *ops = opsp;
  double *out = outp;
  uint64_t next_write = 0, next_read = 0;
  double errors = 0;
  for (size_t i = 0; i < nops; i++) {
    int32_t op = ops[i];
    if (op > 0) {
      uint32_t n = xd_prod_free(&me, (uint32_t)op);
      for (uint32_t k = 0; k < n; k++) descs[(me.cached_prod + k) & me.mask] = next_write++;
      xd_prod_submit(&me, n);
      out[i] = n;
    } else if (op < 0) {
      uint32_t n = xd_cons_avail(&peer, (uint32_t)(-op));
      for (uint32_t k = 0; k < n; k++)
        if (descs[(peer.cached_cons + k) & peer.mask] != next_read++) errors++;
      xd_cons_release(&peer, n);
      out[i] = n;
    } else {
      out[i] = xd_cons_avail(&peer, size);
    }
  }
  out[nops] = errors;
  free(descs);
  return tn_int(env, (int64_t)nops);
}

void xd_ring_model_init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {TN_PROP("ringModel", RingModel)};
  napi_define_properties(env, exports, 1, p);
}
