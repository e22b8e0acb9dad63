/*
 * tunvs-napi.h: the plain N-API helpers every native addon of tunvs uses (@tunvs/hostnet,
 * @tunvs/tuntap, @tunvs/xdp): errors thrown to JS, argument reading, small value makers, the
 * one-shot interface ioctl and the uv_poll start used by the readers.
 *
 * Header only (static inline, so a file that uses a part pays for that part alone). Each
 * addon's binding.gyp has "include_dirs": ["../../native"], a path inside this repository,
 * so a fresh checkout builds it with `npm ci` (node-gyp runs in the package's folder).
 *
 * Errors: tn_throw_errno throws Error("<syscall> failed: <NAME> (<strerror>)") with `code`
 * (the errno name, e.g. "EPERM"), `errno` (positive) and `syscall`; the TypeScript side of
 * each package turns these into its own error class with a sentence a person understands.
 */
#ifndef TUNVS_NAPI_H
#define TUNVS_NAPI_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

/* The errno name ("EPERM"), or "EUNKNOWN". */
static inline const char *tn_errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
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
    case ENOTTY: return "ENOTTY";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case EBADFD: return "EBADFD";
    case ENOTSOCK: return "ENOTSOCK";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP"; /* ENOTSUP on Linux */
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOBUFS: return "ENOBUFS";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    default: return "EUNKNOWN";
  }
}

/* Throw an Error with a code and a message (for our own argument checks). */
static inline void tn_throw(napi_env env, const char *code, const char *msg) { napi_throw_error(env, code, msg); }

static inline napi_value tn_int(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}

static inline void tn_set_int(napi_env env, napi_value obj, const char *name, int64_t x) {
  napi_set_named_property(env, obj, name, tn_int(env, x));
}

static inline void tn_set_str(napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, name, v);
}

/* Throw Error("<syscall> failed: <NAME> (<strerror>)") with code/errno/syscall set. */
static inline void tn_throw_errno(napi_env env, int err, const char *syscall) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", syscall, tn_errno_name(err), strerror(err));
  napi_value m, code, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, tn_errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  tn_set_int(env, e, "errno", err);
  tn_set_str(env, e, "syscall", syscall);
  napi_throw(env, e);
}

/* Return NULL from the calling N-API function when `call` fails, throwing first unless the
 * failed call left an exception pending already. */
#define TN_CALL(env, call)                                                            \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      bool pending_;                                                                  \
      napi_is_exception_pending((env), &pending_);                                    \
      if (!pending_) tn_throw((env), "EINVAL", "native call failed: " #call);        \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

#define TN_FN(name) static napi_value name(napi_env env, napi_callback_info info)
#define TN_PROP(jsname, fn) {jsname, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

/* ---------------------------------------------------------------- arguments */

/* Read `want` arguments (throws and returns -1 when fewer were given). */
static inline int tn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < want) {
    tn_throw(env, "EINVAL", "too few arguments");
    return -1;
  }
  return 0;
}

static inline int32_t tn_i32(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

static inline uint32_t tn_u32(napi_env env, napi_value v) {
  uint32_t x = 0;
  napi_get_value_uint32(env, v, &x);
  return x;
}

static inline double tn_f64(napi_env env, napi_value v) {
  double x = 0;
  napi_get_value_double(env, v, &x);
  return x;
}

static inline bool tn_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

static inline napi_value tn_undef(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static inline napi_value tn_boolv(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static inline void tn_set_bool(napi_env env, napi_value obj, const char *name, bool b) {
  napi_set_named_property(env, obj, name, tn_boolv(env, b));
}

/* A new Uint8Array holding a copy of `len` bytes at `p`. */
static inline napi_value tn_bytes(napi_env env, const void *p, size_t len) {
  napi_value ab, arr;
  void *data = NULL;
  napi_create_arraybuffer(env, len, &data, &ab);
  if (len) memcpy(data, p, len);
  napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &arr);
  return arr;
}

/* Data and element count of a typed array of type `want` (throws and returns -1 otherwise). */
static inline int tn_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) {
    tn_throw(env, "EINVAL", "expected a typed array");
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
    tn_throw(env, "EINVAL", name);
    return -1;
  }
  return 0;
}

/* Copy a string argument into `out` (size `cap`, NUL-padded); -1 (thrown) when it is not a
 * string ("<what> must be a string") or too long ("<what> too long (max N bytes)"). */
static inline int tn_string(napi_env env, napi_value v, char *out, size_t cap, const char *what) {
  size_t len = 0;
  char msg[96];
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    tn_throw(env, "EINVAL", msg);
    return -1;
  }
  if (len + 1 > cap) {
    snprintf(msg, sizeof msg, "%s too long (max %zu bytes)", what, cap - 1);
    tn_throw(env, "ENAMETOOLONG", msg);
    return -1;
  }
  memset(out, 0, cap);
  napi_get_value_string_utf8(env, v, out, cap, &len);
  return 0;
}

/* IFNAMSIZ (kernel ABI), here without <net/if.h>: it clashes with <linux/if.h> in some orders. */
#define TN_IFNAMSIZ 16

/* An interface name argument into TN_IFNAMSIZ bytes (NUL-padded, as struct ifreq wants it). */
static inline int tn_ifname(napi_env env, napi_value v, char out[TN_IFNAMSIZ]) {
  return tn_string(env, v, out, TN_IFNAMSIZ, "interface name");
}

/* The pointer held by an External (throws "not a <what> handle" and returns NULL otherwise). */
static inline void *tn_external(napi_env env, napi_value v, const char *what) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    char msg[96];
    snprintf(msg, sizeof msg, "not a %s handle", what);
    tn_throw(env, "EINVAL", msg);
    return NULL;
  }
  return p;
}

/* ---------------------------------------------------------------- host */

/* One SIOC* ioctl (ifr: a struct ifreq) on a fresh AF_INET datagram socket (in the calling thread's namespace);
 * throws "<what> failed: ..." (or "socket failed: ...") and returns -1 on failure. */
static inline int tn_if_ioctl(napi_env env, unsigned long req, void *ifr, const char *what) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    tn_throw_errno(env, errno, "socket");
    return -1;
  }
  int r = ioctl(s, req, ifr);
  int e = errno;
  close(s);
  if (r < 0) {
    tn_throw_errno(env, e, what);
    return -1;
  }
  return 0;
}

/* Start (or restart) a readable watcher on fd, initialising the uv_poll_t the first time
 * (*inited tells); poll->data = data. Throws "uv_poll_init/uv_poll_start failed: ..." and
 * returns -1 on failure. */
static inline int tn_poll_start(napi_env env, uv_poll_t *poll, bool *inited, int fd, void *data, uv_poll_cb cb) {
  if (!*inited) {
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return -1;
    int r = uv_poll_init(loop, poll, fd);
    if (r < 0) {
      tn_throw_errno(env, -r, "uv_poll_init");
      return -1;
    }
    poll->data = data;
    *inited = true;
  }
  int r = uv_poll_start(poll, UV_READABLE, cb);
  if (r < 0) {
    tn_throw_errno(env, -r, "uv_poll_start");
    return -1;
  }
  return 0;
}

/* Whether a started watcher keeps the event loop alive (nothing once it is closed). */
static inline void tn_poll_ref(uv_poll_t *poll, bool inited, bool closed, bool on) {
  if (!inited || closed) return;
  if (on)
    uv_ref((uv_handle_t *)poll);
  else
    uv_unref((uv_handle_t *)poll);
}

#endif
