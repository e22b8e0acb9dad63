/*
 * xsk.c: AF_XDP sockets and their UMEM.
 *
 * A UMEM is one page-aligned area cut into equal frames (chunks). Several sockets may
 * share it (XDP_SHARED_UMEM): sockets on other interfaces or queues get their own fill and
 * completion rings, sockets on the same (interface, queue) share the first one's. Every
 * frame is at any moment in exactly one place:
 *
 *   free stack (ours)  -> fill ring -> [kernel writes a packet] -> an RX ring
 *   RX ring -> held by JS for one batch -> back to a fill ring, or into a TX ring
 *   TX ring -> [kernel sends it] -> completion ring -> free stack
 *
 * `holder[frame]` names the socket whose JS batch holds the frame (0 = none) and its thread
 * (napi_env) in the high 16 bits, so a write of a packet that still sits in its receive
 * frame goes out without a copy, on any socket of this UMEM in the same thread (a director
 * forwarding from one interface to the other), and anything else (a packet built
 * elsewhere, a frame written twice) is copied into a free frame.
 *
 * The free stack and the fill/completion rings are shared by every socket of the UMEM,
 * possibly on several threads (worker_threads, each with its own napi_env), so they are
 * touched under the UMEM's mutex, once per batch. RX and TX rings belong to one socket and
 * are touched without locks. UMEMs live in a process-wide table by id: another thread
 * attaches to one with `umemAttach(id)` and gets its own ArrayBuffer over the same memory.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

#define XD_HEADROOM 256 /* XDP_PACKET_HEADROOM: where the kernel puts received data */
#define XD_MAX_QCTX 64
#define XD_MAX_UMEMS 256
#define XD_BATCHES_PER_WAKEUP 8
#define XD_KICK_TRIES 64

/* ---------------------------------------------------------------- UMEM */

/* The fill and completion rings of one (interface, queue) of a UMEM. */
typedef struct qctx {
  int ifindex;
  uint32_t queue;
  int fd; /* the socket whose setsockopt created these rings; kept open while used */
  xd_ring_t fill, comp;
  void *fill_map, *comp_map;
  size_t fill_len, comp_len;
  int users;
} qctx_t;

typedef struct umem {
  int id;
  int refs; /* JS handles, ArrayBuffer views and sockets */
  pthread_mutex_t lock;
  uint8_t *mem;
  size_t size;
  uint32_t frame_size, frame_shift, nframes;
  uint32_t *free_stack;
  uint32_t nfree;
  uint32_t *holder; /* group << 16 | socket id, 0 = not held */
  uint16_t next_sid;
  int open_sockets; /* sockets bound on this UMEM and not closed */
  int reg_fd; /* the socket that registered the UMEM (-1 before the first) */
  qctx_t *q[XD_MAX_QCTX];
  int nq;
} umem_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static umem_t *g_umems[XD_MAX_UMEMS];

/*
 * With the lock held and no socket left open: unmap every fill/completion ring, hand back
 * the fds to close (each once), forget the registration and put every frame back on the
 * free stack. A later socket registers the UMEM again.
 */
static void umem_drop_kernel_locked(umem_t *u, int *fds, int *nfds) {
  int n = 0;
  for (int i = 0; i < u->nq; i++) {
    qctx_t *q = u->q[i];
    if (q->fill_map) munmap(q->fill_map, q->fill_len);
    if (q->comp_map) munmap(q->comp_map, q->comp_len);
    if (q->fd >= 0) fds[n++] = q->fd;
    free(q);
    u->q[i] = NULL;
  }
  u->nq = 0;
  if (u->reg_fd >= 0) {
    bool listed = false;
    for (int i = 0; i < n; i++) listed |= fds[i] == u->reg_fd;
    if (!listed) fds[n++] = u->reg_fd;
  }
  u->reg_fd = -1;
  for (uint32_t i = 0; i < u->nframes; i++) {
    u->free_stack[i] = u->nframes - 1 - i;
    u->holder[i] = 0;
  }
  u->nfree = u->nframes;
  *nfds = n;
}

static void umem_unref(umem_t *u) {
  pthread_mutex_lock(&g_lock);
  int left = --u->refs;
  if (left == 0) g_umems[u->id] = NULL;
  pthread_mutex_unlock(&g_lock);
  if (left > 0) return;
  for (int i = 0; i < u->nq; i++) {
    qctx_t *q = u->q[i];
    if (q->fill_map) munmap(q->fill_map, q->fill_len);
    if (q->comp_map) munmap(q->comp_map, q->comp_len);
    if (q->fd >= 0) close(q->fd);
    free(q);
  }
  if (u->reg_fd >= 0) {
    bool owned = false;
    for (int i = 0; i < u->nq; i++) owned |= u->q[i]->fd == u->reg_fd;
    if (!owned) close(u->reg_fd);
  }
  munmap(u->mem, u->size);
  free(u->free_stack);
  free(u->holder);
  pthread_mutex_destroy(&u->lock);
  free(u);
}

static umem_t *umem_get(int id) {
  umem_t *u = NULL;
  pthread_mutex_lock(&g_lock);
  if (id >= 0 && id < XD_MAX_UMEMS && g_umems[id]) {
    u = g_umems[id];
    u->refs++;
  }
  pthread_mutex_unlock(&g_lock);
  return u;
}

static void umem_handle_finalize(napi_env env, void *data, void *hint) { umem_unref((umem_t *)data); }

static napi_value umem_handle(napi_env env, umem_t *u) {
  napi_value h;
  if (napi_create_external(env, u, umem_handle_finalize, NULL, &h) != napi_ok) {
    umem_unref(u);
    return NULL;
  }
  return h;
}

/* umemCreate(frameSize, frames) -> { id, handle } */
TN_FN(UmemCreate) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  uint32_t fs = tn_u32(env, argv[0]), n = tn_u32(env, argv[1]);
  if (fs < 2048 || fs > 65536 || (fs & (fs - 1)) != 0) {
    tn_throw(env, "EINVAL", "frame size must be a power of two from 2048 to 65536");
    return NULL;
  }
  if (n == 0 || (uint64_t)fs * n > 0xffffffffull) {
    tn_throw(env, "EINVAL", "the UMEM must hold at least one frame and at most 4 GiB");
    return NULL;
  }
  umem_t *u = calloc(1, sizeof *u);
  if (!u) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  u->frame_size = fs;
  u->frame_shift = (uint32_t)__builtin_ctz(fs);
  u->nframes = n;
  u->size = (size_t)fs * n;
  u->reg_fd = -1;
  u->refs = 1;
  u->next_sid = 1;
  pthread_mutex_init(&u->lock, NULL);
  u->mem = mmap(NULL, u->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  u->free_stack = malloc(sizeof(uint32_t) * n);
  u->holder = calloc(n, sizeof(uint32_t));
  if (u->mem == MAP_FAILED || !u->free_stack || !u->holder) {
    int e = u->mem == MAP_FAILED ? errno : ENOMEM;
    if (u->mem != MAP_FAILED) munmap(u->mem, u->size);
    free(u->free_stack);
    free(u->holder);
    free(u);
    tn_throw_errno(env, e, "mmap (UMEM)");
    return NULL;
  }
  /* lowest frames on top, so a small load stays in few pages */
  for (uint32_t i = 0; i < n; i++) u->free_stack[i] = n - 1 - i;
  u->nfree = n;
  pthread_mutex_lock(&g_lock);
  int id = -1;
  for (int i = 0; i < XD_MAX_UMEMS; i++)
    if (!g_umems[i]) {
      id = i;
      g_umems[i] = u;
      break;
    }
  pthread_mutex_unlock(&g_lock);
  if (id < 0) {
    munmap(u->mem, u->size);
    free(u->free_stack);
    free(u->holder);
    free(u);
    tn_throw(env, "EMFILE", "too many UMEMs in this process");
    return NULL;
  }
  u->id = id;
  napi_value out, h = umem_handle(env, u);
  if (!h) return NULL;
  napi_create_object(env, &out);
  tn_set_int(env, out, "id", id);
  napi_set_named_property(env, out, "handle", h);
  return out;
}

/* umemAttach(id) -> handle (another thread's handle to the same UMEM) */
TN_FN(UmemAttach) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  umem_t *u = umem_get(tn_i32(env, argv[0]));
  if (!u) {
    tn_throw(env, "ENOENT", "no UMEM with this id (closed, or in another process)");
    return NULL;
  }
  return umem_handle(env, u);
}

static void view_finalize(napi_env env, void *data, void *hint) { umem_unref((umem_t *)hint); }

/* umemView(handle) -> Uint8Array over the whole UMEM (the slab every batch points into) */
TN_FN(UmemView) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  umem_t *u = tn_external(env, argv[0], "UMEM");
  if (!u) return NULL;
  pthread_mutex_lock(&g_lock);
  u->refs++;
  pthread_mutex_unlock(&g_lock);
  napi_value ab, arr;
  if (napi_create_external_arraybuffer(env, u->mem, u->size, view_finalize, u, &ab) != napi_ok) {
    umem_unref(u);
    tn_throw(env, "ENOTSUP", "this Node.js cannot wrap external memory in an ArrayBuffer");
    return NULL;
  }
  napi_create_typedarray(env, napi_uint8_array, u->size, ab, 0, &arr);
  return arr;
}

/* umemInfo(handle) -> { id, frameSize, frames, free } */
TN_FN(UmemInfo) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  umem_t *u = tn_external(env, argv[0], "UMEM");
  if (!u) return NULL;
  napi_value out;
  napi_create_object(env, &out);
  pthread_mutex_lock(&u->lock);
  uint32_t nfree = u->nfree;
  pthread_mutex_unlock(&u->lock);
  tn_set_int(env, out, "id", u->id);
  tn_set_int(env, out, "frameSize", u->frame_size);
  tn_set_int(env, out, "frames", u->nframes);
  tn_set_int(env, out, "free", nfree);
  return out;
}

/* Move free frames into a fill ring (lock held). */
static void fill_from_free(umem_t *u, qctx_t *q) {
  uint32_t n = xd_prod_free(&q->fill, u->nfree);
  uint64_t *d = q->fill.descs;
  for (uint32_t i = 0; i < n; i++) d[(q->fill.cached_prod + i) & q->fill.mask] = (uint64_t)u->free_stack[--u->nfree] << u->frame_shift;
  if (n) xd_prod_submit(&q->fill, n);
}

/* Take sent frames off a completion ring onto the free stack (lock held). */
static uint32_t reap_completions(umem_t *u, qctx_t *q) {
  uint32_t n = xd_cons_avail(&q->comp, q->comp.size);
  const uint64_t *d = q->comp.descs;
  for (uint32_t i = 0; i < n; i++) u->free_stack[u->nfree++] = (uint32_t)(d[(q->comp.cached_cons + i) & q->comp.mask] >> u->frame_shift);
  if (n) xd_cons_release(&q->comp, n);
  return n;
}

/* ---------------------------------------------------------------- sockets */

typedef struct xsk {
  napi_env env;
  umem_t *umem;
  qctx_t *q;
  int fd;  /* receives: the RX ring, polled, in the XSKMAP */
  int tfd; /* transmits: the TX ring, on the same (interface, queue) and UMEM; see XskOpen */
  uint32_t tag;    /* what holder[] says for frames of our batch: group << 16 | socket id */
  uint32_t group;  /* the thread's id (xd_env_group) */
  bool zerocopy, need_wakeup;
  xd_ring_t rx, tx;
  void *rx_map, *tx_map;
  size_t rx_len, tx_len;
  uint32_t max_frame; /* longest frame writeBatch accepts */
  /* receive batch arrays (JS-owned) */
  napi_ref off_ref, len_ref, cb_ref;
  uint32_t *offs, *lens;
  uint32_t max_batch;
  napi_async_context actx;
  uv_poll_t poll;
  bool poll_inited, polling, closed, handle_closed, finalized;
  /* frames of the current batch */
  uint32_t *held;
  uint32_t nheld;
  /* free frames taken from the UMEM for copied writes */
  uint32_t *cache;
  uint32_t ncache, cache_cap;
  /* counters since open (double: JS numbers) */
  double rx_packets, rx_bytes, rx_batches, tx_packets, tx_bytes, tx_dropped, tx_errors, tx_copied, kicks, kick_errors;
  int last_tx_errno, last_kick_errno;
  uint32_t last_err_len;
  /* the kick thread (xskKickThread): it runs sendto for the TX ring, so the kernel's
   * transmit work (in copy mode on veth: the receiving namespace's whole stack, in the
   * softirq of that syscall) runs beside the JS thread instead of inside it */
  pthread_t kthread;
  bool kthread_on;
  uint32_t bell;     /* bumped by JS after a submit; the futex the thread sleeps on */
  uint32_t sleeping; /* the thread is about to sleep or sleeps on `bell` */
  uint32_t kstop;
  uint64_t tkicks, tkick_errors, twakes; /* the thread's counters (atomic) */
  int tlast_kick_errno;
} xsk_t;

static void xsk_release_batch_locked(xsk_t *x);

/* Return the frames of the current batch that JS did not send to the fill ring. */
static void xsk_recycle(xsk_t *x) {
  if (x->nheld == 0 && x->ncache == 0) return;
  umem_t *u = x->umem;
  pthread_mutex_lock(&u->lock);
  xsk_release_batch_locked(x);
  reap_completions(u, x->q);
  fill_from_free(u, x->q);
  pthread_mutex_unlock(&u->lock);
}

static void xsk_release_batch_locked(xsk_t *x) {
  umem_t *u = x->umem;
  qctx_t *q = x->q;
  uint32_t k = 0;
  uint32_t room = xd_prod_free(&q->fill, x->nheld);
  uint64_t *d = q->fill.descs;
  for (uint32_t i = 0; i < x->nheld; i++) {
    uint32_t f = x->held[i];
    if (u->holder[f] != x->tag) continue; /* went out in a TX ring */
    u->holder[f] = 0;
    if (k < room)
      d[(q->fill.cached_prod + k++) & q->fill.mask] = (uint64_t)f << u->frame_shift;
    else
      u->free_stack[u->nfree++] = f;
  }
  if (k) xd_prod_submit(&q->fill, k);
  x->nheld = 0;
  /* unused copy frames go back too, so an idle socket hoards nothing */
  while (x->ncache) u->free_stack[u->nfree++] = x->cache[--x->ncache];
}

/* Read up to max descriptors from the RX ring into offs/lens; frames become held. */
static uint32_t xsk_rx(xsk_t *x, uint32_t *offs, uint32_t *lens, uint32_t max) {
  if (max > x->rx.size - x->nheld) max = x->rx.size - x->nheld;
  uint32_t n = xd_cons_avail(&x->rx, max);
  if (n == 0) return 0;
  const struct xdp_desc *d = x->rx.descs;
  umem_t *u = x->umem;
  double bytes = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct xdp_desc *e = &d[(x->rx.cached_cons + i) & x->rx.mask];
    uint32_t f = (uint32_t)(e->addr >> u->frame_shift);
    offs[i] = (uint32_t)e->addr;
    lens[i] = e->len;
    bytes += e->len;
    u->holder[f] = x->tag;
    x->held[x->nheld++] = f;
  }
  xd_cons_release(&x->rx, n);
  x->rx_packets += n;
  x->rx_bytes += bytes;
  x->rx_batches++;
  return n;
}

/* Tell the kernel there is something in the TX ring (always needed in copy mode). */
static void xsk_kick(xsk_t *x) {
  if (x->need_wakeup && !(__atomic_load_n(x->tx.flags, __ATOMIC_ACQUIRE) & XDP_RING_NEED_WAKEUP)) return;
  for (int tries = 0; tries < XD_KICK_TRIES; tries++) {
    x->kicks++;
    if (sendto(x->tfd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
      /* copy mode sends at most a budget per call: go on while descriptors remain */
      if (__atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE) == x->tx.cached_prod) return;
      continue;
    }
    int e = errno;
    if (e == EAGAIN || e == EBUSY || e == EINTR) {
      if (__atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE) == x->tx.cached_prod) return;
      if (e == EAGAIN && tries > 8) {
        /* the device queue is full: give it a moment */
        struct pollfd p = {.fd = x->tfd, .events = POLLOUT, .revents = 0};
        poll(&p, 1, 0);
      }
      continue;
    }
    x->kick_errors++;
    x->last_kick_errno = e;
    return;
  }
}

/* ---------------------------------------------------------------- the kick thread */

static long xd_futex(uint32_t *addr, int op, uint32_t val, const struct timespec *ts) { return syscall(SYS_futex, addr, op, val, ts, NULL, 0); }

/* JS side, after a submit: wake the kick thread if it sleeps (one atomic load otherwise). */
static void xsk_ring_bell(xsk_t *x) {
  __atomic_fetch_add(&x->bell, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&x->sleeping, __ATOMIC_SEQ_CST)) {
    __atomic_fetch_add(&x->twakes, 1, __ATOMIC_RELAXED);
    xd_futex(&x->bell, FUTEX_WAKE_PRIVATE, 1, NULL);
  }
}

/* Descriptors the kernel has not taken off the TX ring yet (read from the shared indices). */
static uint32_t tx_pending(xsk_t *x) {
  return __atomic_load_n(x->tx.producer, __ATOMIC_ACQUIRE) - __atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE);
}

/*
 * The kick thread: sendto until the kernel has taken every descriptor, then sleep on the
 * bell. The kernel serialises sendto on a socket, so a kick from JS (a full TX ring) and one
 * from here may overlap. Sent frames are reaped here too (under the UMEM's lock): the
 * kernel stops sending when the completion ring is full, and JS may be idle.
 */
static void *kick_main(void *arg) {
  xsk_t *x = arg;
  uint32_t seen = __atomic_load_n(&x->bell, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&x->kstop, __ATOMIC_ACQUIRE)) {
    bool failed = false, driver_busy = false;
    for (int tries = 0; tx_pending(x) != 0 && !__atomic_load_n(&x->kstop, __ATOMIC_RELAXED); tries++) {
      if (x->need_wakeup && !(__atomic_load_n(x->tx.flags, __ATOMIC_ACQUIRE) & XDP_RING_NEED_WAKEUP)) {
        driver_busy = true; /* zero-copy: the driver sends on its own for now */
        break;
      }
      __atomic_fetch_add(&x->tkicks, 1, __ATOMIC_RELAXED);
      if (sendto(x->tfd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
        tries = 0;
        continue;
      }
      int e = errno;
      if (e == EAGAIN || e == EBUSY || e == EINTR) {
        if (tries > 8) {
          /* the completion ring or the device queue is full: reap, and give it a moment */
          pthread_mutex_lock(&x->umem->lock);
          reap_completions(x->umem, x->q);
          pthread_mutex_unlock(&x->umem->lock);
          struct pollfd p = {.fd = x->tfd, .events = POLLOUT, .revents = 0};
          poll(&p, 1, 1);
        }
        continue;
      }
      __atomic_fetch_add(&x->tkick_errors, 1, __ATOMIC_RELAXED);
      __atomic_store_n(&x->tlast_kick_errno, e, __ATOMIC_RELAXED);
      failed = true;
      break;
    }
    if (xd_cons_avail_peek(&x->q->comp)) {
      pthread_mutex_lock(&x->umem->lock);
      if (reap_completions(x->umem, x->q)) fill_from_free(x->umem, x->q);
      pthread_mutex_unlock(&x->umem->lock);
    }
    __atomic_store_n(&x->sleeping, 1, __ATOMIC_SEQ_CST);
    uint32_t b = __atomic_load_n(&x->bell, __ATOMIC_SEQ_CST);
    if (b == seen && !__atomic_load_n(&x->kstop, __ATOMIC_SEQ_CST)) {
      /* after a failed kick (e.g. the interface is down) try again in 10 ms, not in a loop */
      struct timespec retry = {.tv_sec = 0, .tv_nsec = (failed ? 10 : 1) * 1000 * 1000};
      if (tx_pending(x) == 0)
        xd_futex(&x->bell, FUTEX_WAIT_PRIVATE, seen, NULL);
      else if (failed || driver_busy)
        xd_futex(&x->bell, FUTEX_WAIT_PRIVATE, seen, &retry);
    }
    __atomic_store_n(&x->sleeping, 0, __ATOMIC_SEQ_CST);
    seen = __atomic_load_n(&x->bell, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

static int kick_thread_start(xsk_t *x, const cpu_set_t *cpus) {
  if (x->kthread_on) return 0;
  __atomic_store_n(&x->kstop, 0, __ATOMIC_SEQ_CST);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (cpus) pthread_attr_setaffinity_np(&attr, sizeof *cpus, cpus);
  int r = pthread_create(&x->kthread, &attr, kick_main, x);
  pthread_attr_destroy(&attr);
  if (r != 0) return r;
  pthread_setname_np(x->kthread, "tunvs-xsk-kick");
  x->kthread_on = true;
  return 0;
}

static void kick_thread_stop(xsk_t *x) {
  if (!x->kthread_on) return;
  __atomic_store_n(&x->kstop, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&x->bell, 1, __ATOMIC_SEQ_CST);
  xd_futex(&x->bell, FUTEX_WAKE_PRIVATE, 1, NULL);
  pthread_join(x->kthread, NULL);
  x->kthread_on = false;
}

/* Take one free frame for a copied write; -1 when the UMEM has none left. */
static int64_t xsk_take_frame(xsk_t *x) {
  if (x->ncache == 0) {
    umem_t *u = x->umem;
    pthread_mutex_lock(&u->lock);
    if (u->nfree < x->cache_cap) reap_completions(u, x->q);
    while (x->ncache < x->cache_cap && u->nfree > 0) x->cache[x->ncache++] = u->free_stack[--u->nfree];
    pthread_mutex_unlock(&u->lock);
    if (x->ncache == 0) return -1;
  }
  return x->cache[--x->ncache];
}

/*
 * Queue `count` packets on the TX ring and kick. Packets still in their receive frame (of
 * this socket's current batch) go out without a copy; the rest are copied into free frames.
 * `base` is the JS buffer's data and `base_len` its length.
 */
static uint32_t xsk_tx(xsk_t *x, const uint8_t *base, size_t base_len, const uint32_t *offs, const uint32_t *lens, uint32_t count) {
  umem_t *u = x->umem;
  /* a view into the UMEM (the receive slab, or a subarray of it) */
  bool in_umem = base >= u->mem && base < u->mem + u->size;
  size_t delta = in_umem ? (size_t)(base - u->mem) : 0;
  /* sent frames come back on this queue's completion ring: take them off before the
   * kernel runs out of room there (it stops sending when the ring is full) */
  if (xd_cons_avail_peek(&x->q->comp)) {
    pthread_mutex_lock(&u->lock);
    reap_completions(u, x->q);
    pthread_mutex_unlock(&u->lock);
  }
  uint32_t room = xd_prod_free(&x->tx, count);
  if (room < count) {
    /* make room: the kernel may not have been told about the previous writes */
    xsk_kick(x);
    room = xd_prod_free(&x->tx, count);
  }
  struct xdp_desc *d = x->tx.descs;
  uint32_t k = 0;
  double bytes = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t len = lens[i];
    size_t off = offs[i];
    if (x->closed) {
      x->tx_dropped++;
      continue;
    }
    if (len == 0 || off + len > base_len) {
      x->tx_errors++;
      x->last_tx_errno = EFAULT;
      x->last_err_len = len;
      continue;
    }
    if (len > x->max_frame || len < 14) {
      x->tx_errors++;
      x->last_tx_errno = len < 14 ? EINVAL : EMSGSIZE;
      x->last_err_len = len;
      continue;
    }
    if (k >= room) {
      x->tx_dropped++;
      continue;
    }
    uint64_t addr;
    size_t abs = delta + off;
    uint32_t f = in_umem ? (uint32_t)(abs >> u->frame_shift) : 0;
    if (in_umem && ((abs + len - 1) >> u->frame_shift) == f && (u->holder[f] >> 16) == x->group) {
      u->holder[f] = 0; /* the kernel owns it until it completes */
      addr = abs;
    } else {
      int64_t nf = xsk_take_frame(x);
      if (nf < 0) {
        x->tx_dropped++;
        continue;
      }
      addr = ((uint64_t)nf << u->frame_shift) + XD_HEADROOM;
      if (len > u->frame_size - XD_HEADROOM) addr -= XD_HEADROOM;
      memcpy(u->mem + addr, base + off, len);
      x->tx_copied++;
    }
    struct xdp_desc *e = &d[(x->tx.cached_prod + k) & x->tx.mask];
    e->addr = addr;
    e->len = len;
    e->options = 0;
    k++;
    bytes += len;
  }
  if (k) {
    xd_prod_submit(&x->tx, k);
    if (x->kthread_on)
      xsk_ring_bell(x);
    else
      xsk_kick(x);
  }
  x->tx_packets += k;
  x->tx_bytes += bytes;
  return k;
}

/* ---------------------------------------------------------------- socket lifecycle */

static void on_poll_closed(uv_handle_t *h) {
  xsk_t *x = h->data;
  x->handle_closed = true;
  if (x->finalized) free(x);
}

static void drop_batch_refs(xsk_t *x) {
  if (x->off_ref) napi_delete_reference(x->env, x->off_ref);
  if (x->len_ref) napi_delete_reference(x->env, x->len_ref);
  x->off_ref = x->len_ref = NULL;
  x->offs = x->lens = NULL;
}

static void xsk_shutdown(xsk_t *x) {
  if (x->closed) return;
  kick_thread_stop(x); /* before the rings go */
  x->closed = true;
  x->polling = false;
  if (x->poll_inited)
    uv_close((uv_handle_t *)&x->poll, on_poll_closed);
  else
    x->handle_closed = true;
  if (x->cb_ref) napi_delete_reference(x->env, x->cb_ref);
  x->cb_ref = NULL;
  drop_batch_refs(x);
  if (x->actx) napi_async_destroy(x->env, x->actx);
  x->actx = NULL;
  umem_t *u = x->umem;
  if (u) {
    pthread_mutex_lock(&u->lock);
    for (uint32_t i = 0; i < x->nheld; i++)
      if (u->holder[x->held[i]] == x->tag) {
        u->holder[x->held[i]] = 0;
        u->free_stack[u->nfree++] = x->held[i];
      }
    x->nheld = 0;
    while (x->ncache) u->free_stack[u->nfree++] = x->cache[--x->ncache];
    qctx_t *q = x->q;
    bool keep_fd = false;
    if (q) {
      q->users--;
      keep_fd = q->fd == x->fd; /* its fill/completion rings serve the other sockets */
    }
    if (x->fd == u->reg_fd) keep_fd = true;
    /* the last socket: the kernel objects go now (the memory stays while JS views exist),
     * so the queues are free for the next open in this process or another */
    int closing[XD_MAX_QCTX + 1];
    int nclosing = 0;
    if (--u->open_sockets == 0) umem_drop_kernel_locked(u, closing, &nclosing);
    pthread_mutex_unlock(&u->lock);
    if (x->rx_map) munmap(x->rx_map, x->rx_len);
    if (x->tx_map) munmap(x->tx_map, x->tx_len);
    x->rx_map = x->tx_map = NULL;
    if (x->tfd >= 0) close(x->tfd);
    if (!keep_fd && x->fd >= 0) close(x->fd);
    for (int i = 0; i < nclosing; i++) close(closing[i]);
    x->fd = x->tfd = -1;
    x->umem = NULL;
    umem_unref(u);
  }
  free(x->held);
  free(x->cache);
  x->held = x->cache = NULL;
}

static void xsk_finalize(napi_env env, void *data, void *hint) {
  xsk_t *x = data;
  xsk_shutdown(x);
  x->finalized = true;
  if (x->handle_closed) free(x);
}

static void ring_init(xd_ring_t *r, uint8_t *map, const struct xdp_ring_offset *o, uint32_t size, bool producer) {
  r->producer = (uint32_t *)(map + o->producer);
  r->consumer = (uint32_t *)(map + o->consumer);
  r->flags = (uint32_t *)(map + o->flags);
  r->descs = map + o->desc;
  r->size = size;
  r->mask = size - 1;
  r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
  r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
  (void)producer;
}


/*
 * xskOpen(umem, ifindex, queue, rxSize, txSize, fillSize, compSize, bindFlags, maxFrame)
 *   -> { handle, fd, txFd, zeroCopy, shared }
 * Two sockets per handle: `fd` receives (RX ring; polled; what the XSKMAP holds) and
 * `txFd` transmits (TX ring only, bound to the same queue with XDP_SHARED_UMEM).
 * bindFlags: XDP_COPY / XDP_ZEROCOPY / 0 (let the kernel choose) | XDP_USE_NEED_WAKEUP,
 * used by the first socket of the UMEM; later ones bind with XDP_SHARED_UMEM and inherit.
 */
TN_FN(XskOpen) {
  napi_value argv[9];
  if (tn_args(env, info, 9, argv)) return NULL;
  umem_t *u = tn_external(env, argv[0], "UMEM");
  if (!u) return NULL;
  int ifindex = tn_i32(env, argv[1]);
  uint32_t queue = tn_u32(env, argv[2]);
  uint32_t rxs = tn_u32(env, argv[3]), txs = tn_u32(env, argv[4]);
  uint32_t fills = tn_u32(env, argv[5]), comps = tn_u32(env, argv[6]);
  uint32_t bflags = tn_u32(env, argv[7]);
  uint32_t max_frame = tn_u32(env, argv[8]);
  uint32_t sizes[4] = {rxs, txs, fills, comps};
  for (int i = 0; i < 4; i++)
    if (sizes[i] == 0 || (sizes[i] & (sizes[i] - 1)) != 0) {
      tn_throw(env, "EINVAL", "ring sizes must be powers of two");
      return NULL;
    }
  xsk_t *x = calloc(1, sizeof *x);
  if (!x) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  x->env = env;
  x->group = xd_env_group(env);
  x->fd = x->tfd = -1;
  x->max_frame = max_frame;
  x->held = malloc(sizeof(uint32_t) * rxs);
  x->cache_cap = 64;
  x->cache = malloc(sizeof(uint32_t) * x->cache_cap);
  int err = 0;
  const char *what = "";
  qctx_t *q = NULL;
  bool new_q = false, reg_here = false;
  if (!x->held || !x->cache) {
    errno = ENOMEM;
    XD_FAIL("malloc");
  }
  x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (x->fd < 0) XD_FAIL("socket(AF_XDP)");

  pthread_mutex_lock(&u->lock);
  if (u->reg_fd < 0) {
    struct xdp_umem_reg reg = {.addr = (uint64_t)(uintptr_t)u->mem, .len = u->size, .chunk_size = u->frame_size, .headroom = 0, .flags = 0};
    if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0) {
      pthread_mutex_unlock(&u->lock);
      XD_FAIL("setsockopt(XDP_UMEM_REG)");
    }
    reg_here = true;
  }
  for (int i = 0; i < u->nq; i++)
    if (u->q[i]->ifindex == ifindex && u->q[i]->queue == queue) q = u->q[i];
  pthread_mutex_unlock(&u->lock);
  if (!q) {
    if (u->nq >= XD_MAX_QCTX) {
      errno = ENOSPC;
      XD_FAIL("too many queues on one UMEM");
    }
    q = calloc(1, sizeof *q);
    if (!q) {
      errno = ENOMEM;
      XD_FAIL("malloc");
    }
    q->ifindex = ifindex;
    q->queue = queue;
    q->fd = -1;
    new_q = true;
    if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_FILL_RING, &fills, sizeof fills) < 0) XD_FAIL("setsockopt(XDP_UMEM_FILL_RING)");
    if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &comps, sizeof comps) < 0) XD_FAIL("setsockopt(XDP_UMEM_COMPLETION_RING)");
  }
  if (setsockopt(x->fd, SOL_XDP, XDP_RX_RING, &rxs, sizeof rxs) < 0) XD_FAIL("setsockopt(XDP_RX_RING)");
  x->tfd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (x->tfd < 0) XD_FAIL("socket(AF_XDP) for transmitting");
  if (setsockopt(x->tfd, SOL_XDP, XDP_TX_RING, &txs, sizeof txs) < 0) XD_FAIL("setsockopt(XDP_TX_RING)");
  struct xdp_mmap_offsets off;
  socklen_t ol = sizeof off;
  if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0) XD_FAIL("getsockopt(XDP_MMAP_OFFSETS)");
  x->rx_len = off.rx.desc + (size_t)rxs * sizeof(struct xdp_desc);
  x->tx_len = off.tx.desc + (size_t)txs * sizeof(struct xdp_desc);
  if (xd_map_ring(x->fd, XDP_PGOFF_RX_RING, x->rx_len, &x->rx_map)) XD_FAIL("mmap(RX ring)");
  if (xd_map_ring(x->tfd, XDP_PGOFF_TX_RING, x->tx_len, &x->tx_map)) XD_FAIL("mmap(TX ring)");
  ring_init(&x->rx, x->rx_map, &off.rx, rxs, false);
  ring_init(&x->tx, x->tx_map, &off.tx, txs, true);
  if (new_q) {
    q->fill_len = off.fr.desc + (size_t)fills * sizeof(uint64_t);
    q->comp_len = off.cr.desc + (size_t)comps * sizeof(uint64_t);
    if (xd_map_ring(x->fd, XDP_UMEM_PGOFF_FILL_RING, q->fill_len, &q->fill_map)) XD_FAIL("mmap(fill ring)");
    if (xd_map_ring(x->fd, XDP_UMEM_PGOFF_COMPLETION_RING, q->comp_len, &q->comp_map)) XD_FAIL("mmap(completion ring)");
    ring_init(&q->fill, q->fill_map, &off.fr, fills, true);
    ring_init(&q->comp, q->comp_map, &off.cr, comps, false);
  }

  struct sockaddr_xdp sa;
  memset(&sa, 0, sizeof sa);
  sa.sxdp_family = AF_XDP;
  sa.sxdp_ifindex = (uint32_t)ifindex;
  sa.sxdp_queue_id = queue;
  if (reg_here) {
    sa.sxdp_flags = (uint16_t)bflags;
  } else {
    /* the kernel shares the fill/completion rings of the socket named here when it is
     * bound to the same (interface, queue); otherwise this socket brings its own */
    sa.sxdp_flags = XDP_SHARED_UMEM;
    sa.sxdp_shared_umem_fd = (uint32_t)(new_q ? u->reg_fd : q->fd);
  }
  if (new_q) {
    /* the kernel takes frames from the fill ring as soon as the socket is bound */
    pthread_mutex_lock(&u->lock);
    fill_from_free(u, q);
    pthread_mutex_unlock(&u->lock);
  }
  if (bind(x->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (new_q) {
      /* take the prefilled frames back */
      pthread_mutex_lock(&u->lock);
      uint64_t *d = q->fill.descs;
      uint32_t n = q->fill.cached_prod - __atomic_load_n(q->fill.consumer, __ATOMIC_ACQUIRE);
      for (uint32_t i = 0; i < n; i++) u->free_stack[u->nfree++] = (uint32_t)(d[(q->fill.cached_prod - n + i) & q->fill.mask] >> u->frame_shift);
      pthread_mutex_unlock(&u->lock);
    }
    XD_FAIL("bind(AF_XDP)");
  }
  struct xdp_options opts;
  socklen_t optl = sizeof opts;
  memset(&opts, 0, sizeof opts);
  getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &opts, &optl);
  x->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;

  pthread_mutex_lock(&u->lock);
  if (reg_here) u->reg_fd = x->fd;
  x->need_wakeup = reg_here ? (bflags & XDP_USE_NEED_WAKEUP) != 0 : false;
  if (new_q) {
    q->fd = x->fd;
    u->q[u->nq++] = q;
  }
  q->users++;
  u->open_sockets++;
  x->tag = (x->group << 16) | u->next_sid++;
  if (u->next_sid == 0) u->next_sid = 1;
  u->refs++;
  pthread_mutex_unlock(&u->lock);
  x->q = q;
  x->umem = u;
  /* The transmit socket: bound to the same (interface, queue), sharing the receiving
   * socket's buffer pool (UMEM, fill and completion rings); it has only the TX ring. A sent
   * frame is charged to the socket that sent it until its skb is freed, and the free
   * (sock_wfree, on veth inside our own sendto) wakes that socket's waiters: our poll
   * entry, if it were the receiving socket, for every frame. Nobody waits on this one. */
  sa.sxdp_flags = XDP_SHARED_UMEM;
  sa.sxdp_shared_umem_fd = (uint32_t)x->fd;
  if (bind(x->tfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    xsk_shutdown(x);
    free(x);
    tn_throw_errno(env, e, "bind(AF_XDP) for transmitting");
    return NULL;
  }
  /* the flags word of the TX ring says whether it needs a kick (the pool's setting; a ring
   * that joined a bound pool may not show it yet: then kick always) */
  x->need_wakeup = (x->need_wakeup || !reg_here) && (__atomic_load_n(x->tx.flags, __ATOMIC_ACQUIRE) & XDP_RING_NEED_WAKEUP) != 0;

  napi_value out, h, name, res;
  napi_create_string_utf8(env, "XdpSocket", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &res);
  napi_async_init(env, res, name, &x->actx);
  if (napi_create_external(env, x, xsk_finalize, NULL, &h) != napi_ok) {
    xsk_shutdown(x);
    free(x);
    return NULL;
  }
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "handle", h);
  tn_set_int(env, out, "fd", x->fd);
  tn_set_int(env, out, "txFd", x->tfd);
  tn_set_bool(env, out, "zeroCopy", x->zerocopy);
  tn_set_bool(env, out, "shared", !reg_here);
  tn_set_bool(env, out, "needWakeup", x->need_wakeup);
  return out;

fail:
  if (x->rx_map) munmap(x->rx_map, x->rx_len);
  if (x->tx_map) munmap(x->tx_map, x->tx_len);
  if (new_q && q) {
    if (q->fill_map) munmap(q->fill_map, q->fill_len);
    if (q->comp_map) munmap(q->comp_map, q->comp_len);
    free(q);
  }
  if (x->tfd >= 0) close(x->tfd);
  if (x->fd >= 0) close(x->fd);
  free(x->held);
  free(x->cache);
  free(x);
  tn_throw_errno(env, err, what);
  return NULL;
}

static xsk_t *get_xsk(napi_env env, napi_value v) { return tn_external(env, v, "XDP socket"); }

static void on_readable(uv_poll_t *h, int status, int events) {
  xsk_t *x = h->data;
  if (x->closed || !x->offs) return;
  napi_env env = x->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  for (int round = 0; round < XD_BATCHES_PER_WAKEUP; round++) {
    uint32_t n = xsk_rx(x, x->offs, x->lens, x->max_batch);
    if (n == 0) break;
    napi_value cb, global, argv[1], result;
    napi_get_reference_value(env, x->cb_ref, &cb);
    napi_get_global(env, &global);
    napi_create_uint32(env, n, &argv[0]);
    napi_status st = napi_make_callback(env, x->actx, global, cb, 1, argv, &result);
    if (x->closed) break;
    xsk_recycle(x);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    if (n < x->max_batch || !x->polling || !x->offs) break;
  }
  if (!x->closed && x->umem) {
    /* sent frames come back here even when nothing is written for a while */
    pthread_mutex_lock(&x->umem->lock);
    if (reap_completions(x->umem, x->q)) fill_from_free(x->umem, x->q);
    pthread_mutex_unlock(&x->umem->lock);
    if (x->need_wakeup && (__atomic_load_n(x->q->fill.flags, __ATOMIC_ACQUIRE) & XDP_RING_NEED_WAKEUP))
      recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
  }
  napi_close_handle_scope(env, scope);
}

/* xskStart(h, offsets: Uint32Array, lengths: Uint32Array, callback(count)) */
TN_FN(XskStart) {
  napi_value argv[4];
  if (tn_args(env, info, 4, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  if (x->closed) {
    tn_throw_errno(env, EBADF, "xskStart");
    return NULL;
  }
  void *offs, *lens;
  size_t no, nl;
  if (tn_typed(env, argv[1], napi_uint32_array, &offs, &no)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &lens, &nl)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[3], &t);
  if (t != napi_function) {
    tn_throw(env, "EINVAL", "callback must be a function");
    return NULL;
  }
  drop_batch_refs(x);
  if (x->cb_ref) napi_delete_reference(env, x->cb_ref);
  napi_create_reference(env, argv[1], 1, &x->off_ref);
  napi_create_reference(env, argv[2], 1, &x->len_ref);
  napi_create_reference(env, argv[3], 1, &x->cb_ref);
  x->offs = offs;
  x->lens = lens;
  uint32_t m = (uint32_t)(no < nl ? no : nl);
  x->max_batch = m < x->rx.size ? m : x->rx.size;
  if (tn_poll_start(env, &x->poll, &x->poll_inited, x->fd, x, on_readable)) return NULL;
  x->polling = true;
  return tn_undef(env);
}

TN_FN(XskStop) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  if (!x->closed && x->poll_inited && x->polling) uv_poll_stop(&x->poll);
  x->polling = false;
  return tn_undef(env);
}

TN_FN(XskRef) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  tn_poll_ref(&x->poll, x->poll_inited, x->closed, tn_bool(env, argv[1]));
  return tn_undef(env);
}

/*
 * xskRead(h, offsets, lengths) -> count: the pull form. Gives back the frames of the
 * previous read first, then fills offsets/lengths with what the RX ring holds (no wait).
 */
TN_FN(XskRead) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  if (x->closed) return tn_int(env, 0);
  void *offs, *lens;
  size_t no, nl;
  if (tn_typed(env, argv[1], napi_uint32_array, &offs, &no)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &lens, &nl)) return NULL;
  xsk_recycle(x);
  uint32_t m = (uint32_t)(no < nl ? no : nl);
  if (m > x->rx.size) m = x->rx.size;
  return tn_int(env, xsk_rx(x, offs, lens, m));
}

/* xskRelease(h): give back the frames of the last pull read. */
TN_FN(XskRelease) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  if (!x->closed) xsk_recycle(x);
  return tn_undef(env);
}

/* xskWrite(h, buf, offsets, lengths, count) -> written */
TN_FN(XskWrite) {
  napi_value argv[5];
  if (tn_args(env, info, 5, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  void *buf, *offs, *lens;
  size_t bl, no, nl;
  if (tn_typed(env, argv[1], napi_uint8_array, &buf, &bl)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &offs, &no)) return NULL;
  if (tn_typed(env, argv[3], napi_uint32_array, &lens, &nl)) return NULL;
  uint32_t count = tn_u32(env, argv[4]);
  if (count > no) count = (uint32_t)no;
  if (count > nl) count = (uint32_t)nl;
  if (x->closed) {
    x->tx_dropped += count;
    return tn_int(env, 0);
  }
  return tn_int(env, xsk_tx(x, buf, bl, offs, lens, count));
}

/*
 * xskStats(h, out: Float64Array(20)): our counters, then the kernel's XDP_STATISTICS:
 *  0 rxPackets 1 rxBytes 2 rxBatches 3 txPackets 4 txBytes 5 txDropped 6 txErrors
 *  7 txCopied 8 kicks 9 kickErrors 10 lastTxErrno 11 lastErrLen 12 lastKickErrno
 *  13 rx_dropped 14 rx_invalid_descs 15 tx_invalid_descs 16 rx_ring_full
 *  17 rx_fill_ring_empty_descs 18 tx_ring_empty_descs 19 free frames in the UMEM
 *  (with a Float64Array(22)) 20 wake-ups of the kick thread 21 kick thread running (1/0)
 * Kicks (8, 9, 12) count those of the kick thread too.
 */
TN_FN(XskStats) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  void *outp;
  size_t n;
  if (tn_typed(env, argv[1], napi_float64_array, &outp, &n)) return NULL;
  if (n < 20) {
    tn_throw(env, "EINVAL", "stats needs a Float64Array(20)");
    return NULL;
  }
  double *o = outp;
  o[0] = x->rx_packets;
  o[1] = x->rx_bytes;
  o[2] = x->rx_batches;
  o[3] = x->tx_packets;
  o[4] = x->tx_bytes;
  o[5] = x->tx_dropped;
  o[6] = x->tx_errors;
  o[7] = x->tx_copied;
  o[8] = x->kicks + (double)__atomic_load_n(&x->tkicks, __ATOMIC_RELAXED);
  o[9] = x->kick_errors + (double)__atomic_load_n(&x->tkick_errors, __ATOMIC_RELAXED);
  o[10] = x->last_tx_errno;
  o[11] = x->last_err_len;
  int tke = __atomic_load_n(&x->tlast_kick_errno, __ATOMIC_RELAXED);
  o[12] = tke ? tke : x->last_kick_errno;
  for (int i = 13; i < 20; i++) o[i] = 0;
  if (n >= 22) {
    o[20] = (double)__atomic_load_n(&x->twakes, __ATOMIC_RELAXED);
    o[21] = x->kthread_on ? 1 : 0;
  }
  if (!x->closed && x->fd >= 0) {
    struct xdp_statistics st;
    memset(&st, 0, sizeof st);
    socklen_t l = sizeof st;
    if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &l) == 0) {
      o[13] = (double)st.rx_dropped;
      o[14] = (double)st.rx_invalid_descs;
      o[16] = (double)st.rx_ring_full;
      o[17] = (double)st.rx_fill_ring_empty_descs;
    }
    /* the TX ring's counters are the transmit socket's */
    memset(&st, 0, sizeof st);
    l = sizeof st;
    if (getsockopt(x->tfd, SOL_XDP, XDP_STATISTICS, &st, &l) == 0) {
      o[15] = (double)st.tx_invalid_descs;
      o[18] = (double)st.tx_ring_empty_descs;
    }
    pthread_mutex_lock(&x->umem->lock);
    o[19] = x->umem->nfree;
    pthread_mutex_unlock(&x->umem->lock);
  }
  return tn_undef(env);
}

/*
 * xskKickThread(h, on, cpus: Uint32Array): run the TX kicks (sendto) on a thread of their
 * own (true) or in the calling thread after each write (false, the default). `cpus` (may
 * be empty: the process's affinity) are the CPUs the thread may run on.
 */
TN_FN(XskKickThread) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  if (x->closed) {
    tn_throw_errno(env, EBADF, "xskKickThread");
    return NULL;
  }
  void *cp;
  size_t ncpu;
  if (tn_typed(env, argv[2], napi_uint32_array, &cp, &ncpu)) return NULL;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t i = 0; i < ncpu; i++) {
    uint32_t c = ((uint32_t *)cp)[i];
    if (c >= CPU_SETSIZE) {
      tn_throw(env, "EINVAL", "CPU number out of range");
      return NULL;
    }
    CPU_SET(c, &set);
  }
  if (tn_bool(env, argv[1])) {
    int r = kick_thread_start(x, ncpu ? &set : NULL);
    if (r != 0) {
      tn_throw_errno(env, r, "pthread_create (kick thread)");
      return NULL;
    }
  } else {
    kick_thread_stop(x);
  }
  return tn_undef(env);
}

/* xskClose(h): idempotent. */
TN_FN(XskClose) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  xsk_shutdown(x);
  return tn_undef(env);
}

/* xskFd(h) -> fd or -1 */
TN_FN(XskFd) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  xsk_t *x = get_xsk(env, argv[0]);
  if (!x) return NULL;
  return tn_int(env, x->closed ? -1 : x->fd);
}

void xd_xsk_init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {
      TN_PROP("umemCreate", UmemCreate), TN_PROP("umemAttach", UmemAttach), TN_PROP("umemView", UmemView),
      TN_PROP("umemInfo", UmemInfo),     TN_PROP("xskOpen", XskOpen),       TN_PROP("xskStart", XskStart),
      TN_PROP("xskStop", XskStop),       TN_PROP("xskRef", XskRef),         TN_PROP("xskRead", XskRead),
      TN_PROP("xskRelease", XskRelease), TN_PROP("xskWrite", XskWrite),     TN_PROP("xskStats", XskStats),
      TN_PROP("xskClose", XskClose),     TN_PROP("xskFd", XskFd),           TN_PROP("xskKickThread", XskKickThread),
  };
  napi_define_properties(env, exports, sizeof p / sizeof p[0], p);
}
