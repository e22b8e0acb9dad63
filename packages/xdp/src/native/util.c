/* util.c: argument and error helpers, and the ring model for unit tests (see util.h). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *xd_errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENOTTY: return "ENOTTY";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTSUP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENOBUFS: return "ENOBUFS";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOTCONN: return "ENOTCONN";
    case ENOTSOCK: return "ENOTSOCK";
    case EBADFD: return "EBADFD";
    default: return "EUNKNOWN";
  }
}

void xd_throw_errno(napi_env env, int err, const char *syscall) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", syscall, xd_errno_name(err), strerror(err));
  napi_value m, code, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, xd_errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  xd_set_int(env, e, "errno", err);
  xd_set_str(env, e, "syscall", syscall);
  napi_throw(env, e);
}

void xd_throw(napi_env env, const char *code, const char *msg) { napi_throw_error(env, code, msg); }

int xd_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < want) {
    xd_throw(env, "EINVAL", "too few arguments");
    return -1;
  }
  return 0;
}

int32_t xd_i32(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

uint32_t xd_u32(napi_env env, napi_value v) {
  uint32_t x = 0;
  napi_get_value_uint32(env, v, &x);
  return x;
}

double xd_f64(napi_env env, napi_value v) {
  double x = 0;
  napi_get_value_double(env, v, &x);
  return x;
}

bool xd_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

napi_value xd_int(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}

napi_value xd_undef(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

napi_value xd_boolv(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

int xd_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) {
    xd_throw(env, "EINVAL", "expected a typed array");
    return -1;
  }
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return -1;
  if (type != want) {
    const char *name = want == napi_uint8_array     ? "expected a Uint8Array"
                       : want == napi_uint32_array  ? "expected a Uint32Array"
                       : want == napi_float64_array ? "expected a Float64Array"
                       : want == napi_int32_array   ? "expected an Int32Array"
                                                    : "unexpected typed array type";
    xd_throw(env, "EINVAL", name);
    return -1;
  }
  return 0;
}

int xd_string(napi_env env, napi_value v, char *out, size_t cap, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    xd_throw(env, "EINVAL", msg);
    return -1;
  }
  if (len + 1 > cap) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s too long (max %zu bytes)", what, cap - 1);
    xd_throw(env, "ENAMETOOLONG", msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, out, cap, &len);
  return 0;
}

void *xd_external(napi_env env, napi_value v, const char *what) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    char msg[96];
    snprintf(msg, sizeof msg, "not a %s handle", what);
    xd_throw(env, "EINVAL", msg);
    return NULL;
  }
  return p;
}

void xd_set_int(napi_env env, napi_value obj, const char *name, int64_t x) {
  napi_set_named_property(env, obj, name, xd_int(env, x));
}

void xd_set_str(napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, name, v);
}

void xd_set_bool(napi_env env, napi_value obj, const char *name, bool b) {
  napi_set_named_property(env, obj, name, xd_boolv(env, b));
}

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
XD_FN(RingModel) {
  napi_value argv[4];
  if (xd_args(env, info, 4, argv)) return NULL;
  uint32_t size = xd_u32(env, argv[0]);
  uint32_t start = (uint32_t)xd_f64(env, argv[1]);
  void *opsp, *outp;
  size_t nops, nout;
  if (xd_typed(env, argv[2], napi_int32_array, &opsp, &nops)) return NULL;
  if (xd_typed(env, argv[3], napi_float64_array, &outp, &nout)) return NULL;
  if (size == 0 || (size & (size - 1)) != 0) {
    xd_throw(env, "EINVAL", "ring size must be a power of two");
    return NULL;
  }
  if (nout < nops + 1) {
    xd_throw(env, "EINVAL", "out must have ops.length + 1 entries");
    return NULL;
  }
  uint64_t *descs = calloc(size, sizeof *descs);
  uint32_t prod = start, cons = start, flags = 0;
  if (!descs) {
    xd_throw(env, "ENOMEM", "out of memory");
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
  return xd_int(env, (int64_t)nops);
}

void xd_ring_model_init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {XD_PROP("ringModel", RingModel)};
  napi_define_properties(env, exports, 1, p);
}
