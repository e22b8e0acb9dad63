/*
 * tuntap.c: the native half of @tunvs/tuntap (plain N-API + libuv, no node-addon-api).
 *
 * What lives here:
 *   - opening /dev/net/tun queues (TUNSETIFF with IFF_NO_PI, optionally IFF_MULTI_QUEUE and
 *     IFF_VNET_HDR + TUNSETVNETHDRSZ + TUNSETOFFLOAD), TUNSETPERSIST;
 *   - interface ioctls on an AF_INET datagram socket (MTU, flags, IPv4 address and mask,
 *     hardware address). They act in the network namespace of the calling thread;
 *   - a queue object: a uv_poll watcher that, on readiness, drains the non-blocking fd into
 *     a JS-owned slab (until EAGAIN, the slab is full, or the offsets array is full) and
 *     calls JS once per batch; and a batched write that loops write(2) over the packets.
 *
 * Errors thrown to JS are plain Error objects with `code` (e.g. "EPERM"), `errno` (positive)
 * and `syscall` (e.g. "TUNSETIFF"); the TypeScript side turns them into TunTapError with a
 * sentence a person understands.
 */
#define _GNU_SOURCE
#include "tunvs-napi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* ---------------------------------------------------------------- opening queues */

/* openQueue(name, tap, multiQueue, vnetHdrLen, offloadFlags, nonBlocking)
 *   -> { fd, name, offloads }
 * offloadFlags < 0: no TUNSETOFFLOAD. With USO/UFO bits the call is retried without them
 * when the kernel refuses (older kernels), and `offloads` reports what was applied. */
static napi_value OpenQueue(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (tn_args(env, info, 6, argv)) return NULL;
  char name[IFNAMSIZ];
  if (tn_ifname(env, argv[0], name)) return NULL;
  bool tap = tn_bool(env, argv[1]);
  bool mq = tn_bool(env, argv[2]);
  int32_t vnet = tn_i32(env, argv[3]);
  int32_t offload = tn_i32(env, argv[4]);
  bool nonblock = tn_bool(env, argv[5]);

  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
  if (fd < 0) {
    tn_throw_errno(env, errno, "open /dev/net/tun");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (mq ? IFF_MULTI_QUEUE : 0) |
                          (vnet > 0 ? IFF_VNET_HDR : 0));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    tn_throw_errno(env, e, "TUNSETIFF");
    return NULL;
  }
  int applied = 0;
  if (vnet > 0) {
    int sz = vnet;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      int e = errno;
      close(fd);
      tn_throw_errno(env, e, "TUNSETVNETHDRSZ");
      return NULL;
    }
    if (offload >= 0) {
      unsigned int tries[3];
      tries[0] = (unsigned int)offload;
      tries[1] = tries[0] & ~(unsigned int)(TUN_F_USO4 | TUN_F_USO6);
      tries[2] = tries[1] & ~(unsigned int)TUN_F_UFO;
      int ok = 0, e = 0;
      for (int i = 0; i < 3 && !ok; i++) {
        if (i > 0 && tries[i] == tries[i - 1]) continue;
        if (ioctl(fd, TUNSETOFFLOAD, tries[i]) == 0) {
          ok = 1;
          applied = (int)tries[i];
        } else {
          e = errno;
        }
      }
      if (!ok) {
        close(fd);
        tn_throw_errno(env, e, "TUNSETOFFLOAD");
        return NULL;
      }
    }
  }
  napi_value out, v;
  TN_CALL(env, napi_create_object(env, &out));
  napi_set_named_property(env, out, "fd", tn_int(env, fd));
  TN_CALL(env, napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &v));
  napi_set_named_property(env, out, "name", v);
  napi_set_named_property(env, out, "offloads", tn_int(env, applied));
  return out;
}

/* setPersist(fd, on) */
static napi_value SetPersist(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  unsigned long on = tn_bool(env, argv[1]) ? 1 : 0;
  if (ioctl(fd, TUNSETPERSIST, on) < 0) {
    tn_throw_errno(env, errno, "TUNSETPERSIST");
    return NULL;
  }
  return tn_undef(env);
}

/* closeFd(fd): for fds handed out by openQueue and never wrapped in a queue. */
static napi_value CloseFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  if (fd >= 0) close(fd);
  return tn_undef(env);
}

/* ---------------------------------------------------------------- interface ioctls */

static napi_value GetMtu(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  if (tn_if_ioctl(env, SIOCGIFMTU, &ifr, "SIOCGIFMTU")) return NULL;
  return tn_int(env, ifr.ifr_mtu);
}

static napi_value SetMtu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  ifr.ifr_mtu = tn_i32(env, argv[1]);
  if (tn_if_ioctl(env, SIOCSIFMTU, &ifr, "SIOCSIFMTU")) return NULL;
  return tn_undef(env);
}

static napi_value GetFlags(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  if (tn_if_ioctl(env, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")) return NULL;
  return tn_int(env, (unsigned short)ifr.ifr_flags);
}

/* setUp(name, up): read-modify-write of IFF_UP. */
static napi_value SetUp(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  bool up = tn_bool(env, argv[1]);
  if (tn_if_ioctl(env, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")) return NULL;
  if (up)
    ifr.ifr_flags |= IFF_UP;
  else
    ifr.ifr_flags &= ~IFF_UP;
  if (tn_if_ioctl(env, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS")) return NULL;
  return tn_undef(env);
}

/* setAddress(name, addrU32, prefixLen): SIOCSIFADDR then SIOCSIFNETMASK. */
static napi_value SetAddress(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  uint32_t addr = tn_u32(env, argv[1]);
  uint32_t prefix = tn_u32(env, argv[2]);
  if (prefix > 32) {
    tn_throw(env, "EINVAL", "prefix length must be 0..32");
    return NULL;
  }
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(addr);
  if (tn_if_ioctl(env, SIOCSIFADDR, &ifr, "SIOCSIFADDR")) return NULL;
  uint32_t mask = prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
  sin = (struct sockaddr_in *)&ifr.ifr_netmask;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(mask);
  if (tn_if_ioctl(env, SIOCSIFNETMASK, &ifr, "SIOCSIFNETMASK")) return NULL;
  return tn_undef(env);
}

/* getMac(name) -> Uint8Array(6) */
static napi_value GetMac(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  if (tn_if_ioctl(env, SIOCGIFHWADDR, &ifr, "SIOCGIFHWADDR")) return NULL;
  return tn_bytes(env, ifr.ifr_hwaddr.sa_data, 6);
}

/* setMac(name, Uint8Array(6)) */
static napi_value SetMac(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  void *data;
  size_t len;
  if (tn_typed(env, argv[1], napi_uint8_array, &data, &len)) return NULL;
  if (len != 6) {
    tn_throw(env, "EINVAL", "a MAC address is 6 bytes");
    return NULL;
  }
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, data, 6);
  if (tn_if_ioctl(env, SIOCSIFHWADDR, &ifr, "SIOCSIFHWADDR")) return NULL;
  return tn_undef(env);
}

/* ifIndex(name) -> number (0 when there is no such interface) */
static napi_value IfIndex(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (tn_ifname(env, argv[0], ifr.ifr_name)) return NULL;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    tn_throw_errno(env, errno, "socket");
    return NULL;
  }
  int r = ioctl(s, SIOCGIFINDEX, &ifr);
  close(s);
  return tn_int(env, r < 0 ? 0 : ifr.ifr_ifindex);
}

/* ---------------------------------------------------------------- queues */

typedef struct queue {
  napi_env env;
  int fd;
  int vnet;              /* bytes of virtio_net_hdr before each packet */
  size_t max_write;      /* largest non-GSO packet accepted by writeBatch (incl. vnet hdr) */
  size_t max_gso_write;  /* largest GSO packet accepted */
  uv_poll_t poll;
  bool poll_inited;
  int polling;
  int closed;
  int handle_closed;     /* uv_close finished (or never needed) */
  int finalized;         /* the JS handle was garbage collected */
  napi_ref cb_ref;
  napi_ref buf_ref, off_ref, len_ref;
  napi_async_context actx;
  uint8_t *buf;
  size_t buf_len;
  uint32_t *offs;
  uint32_t *lens;
  size_t max_pkts;
  size_t max_read;
} queue_t;

static void drop_slab(queue_t *q) {
  if (q->buf_ref) napi_delete_reference(q->env, q->buf_ref);
  if (q->off_ref) napi_delete_reference(q->env, q->off_ref);
  if (q->len_ref) napi_delete_reference(q->env, q->len_ref);
  q->buf_ref = q->off_ref = q->len_ref = NULL;
  q->buf = NULL;
  q->offs = q->lens = NULL;
  q->buf_len = q->max_pkts = 0;
}

static void on_poll_closed(uv_handle_t *h) {
  queue_t *q = (queue_t *)h->data;
  q->handle_closed = 1;
  if (q->finalized) free(q);
}

/* Release everything; the struct itself is freed by the finalizer (or the close callback). */
static void queue_shutdown(queue_t *q) {
  if (q->closed) return;
  q->closed = 1;
  q->polling = 0;
  /* uv_close before close(2): libuv must forget the fd before its number can be reused. */
  if (q->poll_inited)
    uv_close((uv_handle_t *)&q->poll, on_poll_closed);
  else
    q->handle_closed = 1;
  if (q->cb_ref) {
    napi_delete_reference(q->env, q->cb_ref);
    q->cb_ref = NULL;
  }
  drop_slab(q);
  if (q->actx) {
    napi_async_destroy(q->env, q->actx);
    q->actx = NULL;
  }
  if (q->fd >= 0) {
    close(q->fd);
    q->fd = -1;
  }
}

static void queue_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  queue_t *q = (queue_t *)data;
  queue_shutdown(q);
  q->finalized = 1;
  if (q->handle_closed) free(q);
}

static queue_t *get_queue(napi_env env, napi_value v) { return (queue_t *)tn_external(env, v, "queue"); }

/* createQueue(fd, vnetHdrLen, maxWrite, maxGsoWrite, callback) -> handle
 * callback(count, bytes, readErrors, lastErrno) is called once per batch. */
static napi_value CreateQueue(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (tn_args(env, info, 5, argv)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[4], &t);
  if (t != napi_function) {
    tn_throw(env, "EINVAL", "callback must be a function");
    return NULL;
  }
  queue_t *q = (queue_t *)calloc(1, sizeof *q);
  if (!q) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  q->env = env;
  q->fd = tn_i32(env, argv[0]);
  q->vnet = tn_i32(env, argv[1]);
  q->max_write = tn_u32(env, argv[2]);
  q->max_gso_write = tn_u32(env, argv[3]);
  napi_create_reference(env, argv[4], 1, &q->cb_ref);
  napi_value name, handle;
  napi_create_string_utf8(env, "TunTapQueue", NAPI_AUTO_LENGTH, &name);
  napi_value res;
  napi_create_object(env, &res);
  napi_async_init(env, res, name, &q->actx);
  if (napi_create_external(env, q, queue_finalize, NULL, &handle) != napi_ok) {
    queue_shutdown(q);
    free(q);
    return NULL;
  }
  return handle;
}

/* Read one batch into the slab. Returns the packet count; *full says whether it stopped
 * because the slab or the offsets array was full (more may be waiting). */
static size_t drain_batch(queue_t *q, double *bytes, int *errs, int *last, int *full) {
  size_t used = 0, n = 0;
  *bytes = 0;
  *errs = 0;
  *last = 0;
  *full = 0;
  for (;;) {
    if (n >= q->max_pkts || q->buf_len - used < q->max_read) {
      *full = 1;
      break;
    }
    ssize_t r = read(q->fd, q->buf + used, q->max_read);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      (*errs)++;
      *last = errno;
      break;
    }
    if (r == 0) break;
    q->offs[n] = (uint32_t)used;
    q->lens[n] = (uint32_t)r;
    n++;
    *bytes += (double)r;
    used += ((size_t)r + 7) & ~(size_t)7;
  }
  return n;
}

/* Batches handed to JS per readiness event at most, before going back to the loop. */
#define MAX_BATCHES_PER_WAKEUP 8

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  queue_t *q = (queue_t *)h->data;
  if (q->closed || !q->buf) return;
  napi_env env = q->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  for (int round = 0; round < MAX_BATCHES_PER_WAKEUP; round++) {
    double bytes = 0;
    int errs = 0, last = 0, full = 0;
    size_t n = 0;
    if (status < 0) {
      errs = 1;
      last = -status;
    } else {
      n = drain_batch(q, &bytes, &errs, &last, &full);
    }
    if (n == 0 && errs == 0) break;
    if (errs && n == 0) {
      /* A read error with nothing read (device gone, fd broken): stop polling so the loop
       * does not spin; JS is told and may close or resume. */
      uv_poll_stop(&q->poll);
      q->polling = 0;
    }
    napi_value cb, global, argv[4], result;
    napi_get_reference_value(env, q->cb_ref, &cb);
    napi_get_global(env, &global);
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    napi_create_double(env, bytes, &argv[1]);
    napi_create_int32(env, errs, &argv[2]);
    napi_create_int32(env, last, &argv[3]);
    napi_status st = napi_make_callback(env, q->actx, global, cb, 4, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    /* JS may have closed or paused the queue, or swapped the slab */
    if (!full || errs || q->closed || !q->polling || !q->buf) break;
  }
  napi_close_handle_scope(env, scope);
}

/* startReading(handle, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, maxRead) */
static napi_value StartReading(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (tn_args(env, info, 5, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  if (q->closed) {
    tn_throw_errno(env, EBADF, "startReading");
    return NULL;
  }
  void *buf, *offs, *lens;
  size_t buf_len, n_offs, n_lens;
  if (tn_typed(env, argv[1], napi_uint8_array, &buf, &buf_len)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &offs, &n_offs)) return NULL;
  if (tn_typed(env, argv[3], napi_uint32_array, &lens, &n_lens)) return NULL;
  size_t max_read = tn_u32(env, argv[4]);
  if (max_read == 0 || buf_len < max_read) {
    tn_throw(env, "EINVAL", "the receive slab is smaller than one packet");
    return NULL;
  }
  drop_slab(q);
  napi_create_reference(env, argv[1], 1, &q->buf_ref);
  napi_create_reference(env, argv[2], 1, &q->off_ref);
  napi_create_reference(env, argv[3], 1, &q->len_ref);
  q->buf = (uint8_t *)buf;
  q->buf_len = buf_len;
  q->offs = (uint32_t *)offs;
  q->lens = (uint32_t *)lens;
  q->max_pkts = n_offs < n_lens ? n_offs : n_lens;
  q->max_read = max_read;
  if (tn_poll_start(env, &q->poll, &q->poll_inited, q->fd, q, on_readable)) return NULL;
  q->polling = 1;
  return tn_undef(env);
}

static napi_value StopReading(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  if (!q->closed && q->poll_inited && q->polling) uv_poll_stop(&q->poll);
  q->polling = 0;
  return tn_undef(env);
}

/* setRef(handle, on): whether a reading queue keeps the event loop alive. */
static napi_value SetRef(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  tn_poll_ref(&q->poll, q->poll_inited, q->closed, tn_bool(env, argv[1]));
  return tn_undef(env);
}

/* setMaxWrite(handle, maxWrite) after an MTU change. */
static napi_value SetMaxWrite(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  q->max_write = tn_u32(env, argv[1]);
  return tn_undef(env);
}

/* writeBatch(handle, buf, offsets, lengths, count, stat: Float64Array(5)) -> written
 * stat receives [bytes, dropped, errors, lastErrno, lastErrLen]. A packet the kernel will
 * not take (EAGAIN/ENOBUFS) is retried after waiting up to 1 ms for POLLOUT, three times,
 * then counted as dropped; a packet longer than the MTU (and not GSO) is an EMSGSIZE error. */
static napi_value WriteBatch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (tn_args(env, info, 6, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  void *bufp, *offp, *lenp, *statp;
  size_t buf_len, n_off, n_len, n_stat;
  if (tn_typed(env, argv[1], napi_uint8_array, &bufp, &buf_len)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &offp, &n_off)) return NULL;
  if (tn_typed(env, argv[3], napi_uint32_array, &lenp, &n_len)) return NULL;
  uint32_t count = tn_u32(env, argv[4]);
  napi_typedarray_type st;
  napi_value ab;
  size_t boff;
  if (napi_get_typedarray_info(env, argv[5], &st, &n_stat, &statp, &ab, &boff) != napi_ok ||
      st != napi_float64_array || n_stat < 5) {
    tn_throw(env, "EINVAL", "stat must be a Float64Array(5)");
    return NULL;
  }
  const uint8_t *buf = (const uint8_t *)bufp;
  const uint32_t *offs = (const uint32_t *)offp;
  const uint32_t *lens = (const uint32_t *)lenp;
  double *stat = (double *)statp;
  if (count > n_off) count = (uint32_t)n_off;
  if (count > n_len) count = (uint32_t)n_len;
  double bytes = 0;
  uint32_t written = 0, dropped = 0, errors = 0;
  int last = 0;
  uint32_t last_len = 0;
  for (uint32_t i = 0; i < count; i++) {
    size_t off = offs[i], len = lens[i];
    if (q->closed) {
      dropped++;
      continue;
    }
    if (len == 0 || off + len > buf_len) {
      errors++;
      last = EFAULT;
      last_len = (uint32_t)len;
      continue;
    }
    const uint8_t *p = buf + off;
    int gso = q->vnet > 0 && len > (size_t)q->vnet && (p[1] & 0x7f) != 0;
    if (len > (gso ? q->max_gso_write : q->max_write)) {
      errors++;
      last = EMSGSIZE;
      last_len = (uint32_t)len;
      continue;
    }
    int tries = 0;
    for (;;) {
      ssize_t r = write(q->fd, p, len);
      if (r >= 0) {
        written++;
        bytes += (double)len;
        break;
      }
      int e = errno;
      if (e == EINTR) continue;
      if ((e == EAGAIN || e == ENOBUFS) && tries < 3) {
        struct pollfd pfd = {.fd = q->fd, .events = POLLOUT, .revents = 0};
        poll(&pfd, 1, 1);
        tries++;
        continue;
      }
      if (e == EAGAIN || e == ENOBUFS) {
        dropped++;
      } else {
        errors++;
        last = e;
        last_len = (uint32_t)len;
      }
      break;
    }
  }
  stat[0] = bytes;
  stat[1] = dropped;
  stat[2] = errors;
  stat[3] = last;
  stat[4] = last_len;
  napi_value out;
  napi_create_uint32(env, written, &out);
  return out;
}

/* closeQueue(handle): stop reading, close the fd. Idempotent. */
static napi_value CloseQueue(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  queue_shutdown(q);
  return tn_undef(env);
}

/* queueFd(handle) -> fd (or -1 after close) */
static napi_value QueueFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  queue_t *q = get_queue(env, argv[0]);
  if (!q) return NULL;
  return tn_int(env, q->fd);
}

/* ---------------------------------------------------------------- module */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"openQueue", NULL, OpenQueue, NULL, NULL, NULL, napi_default, NULL},
    {"setPersist", NULL, SetPersist, NULL, NULL, NULL, napi_default, NULL},
    {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_default, NULL},
    {"getMtu", NULL, GetMtu, NULL, NULL, NULL, napi_default, NULL},
    {"setMtu", NULL, SetMtu, NULL, NULL, NULL, napi_default, NULL},
    {"getFlags", NULL, GetFlags, NULL, NULL, NULL, napi_default, NULL},
    {"setUp", NULL, SetUp, NULL, NULL, NULL, napi_default, NULL},
    {"setAddress", NULL, SetAddress, NULL, NULL, NULL, napi_default, NULL},
    {"getMac", NULL, GetMac, NULL, NULL, NULL, napi_default, NULL},
    {"setMac", NULL, SetMac, NULL, NULL, NULL, napi_default, NULL},
    {"ifIndex", NULL, IfIndex, NULL, NULL, NULL, napi_default, NULL},
    {"createQueue", NULL, CreateQueue, NULL, NULL, NULL, napi_default, NULL},
    {"startReading", NULL, StartReading, NULL, NULL, NULL, napi_default, NULL},
    {"stopReading", NULL, StopReading, NULL, NULL, NULL, napi_default, NULL},
    {"setRef", NULL, SetRef, NULL, NULL, NULL, napi_default, NULL},
    {"setMaxWrite", NULL, SetMaxWrite, NULL, NULL, NULL, napi_default, NULL},
    {"writeBatch", NULL, WriteBatch, NULL, NULL, NULL, napi_default, NULL},
    {"closeQueue", NULL, CloseQueue, NULL, NULL, NULL, napi_default, NULL},
    {"queueFd", NULL, QueueFd, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
