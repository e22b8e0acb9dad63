/*
 * afpacket.c: AF_PACKET sockets with TPACKET_V3 memory-mapped rings.
 *
 * RX: a ring of blocks; the kernel fills a block with packets and hands it over whole
 * (TP_STATUS_USER) when it is full or its timer (retire_blk_tov) fires. We walk the
 * packets of ready blocks, hand JS up to a batch of (offset, length) pairs pointing into
 * the mapped ring, and give the block back (TP_STATUS_KERNEL) once JS has seen all of it.
 * TX: a ring of fixed frames; a write copies each packet into the next free frame, marks
 * it TP_STATUS_SEND_REQUEST and one sendto() sends them all. PACKET_QDISC_BYPASS hands
 * frames straight to the driver; PACKET_FANOUT spreads RX over several sockets;
 * PACKET_IGNORE_OUTGOING keeps our own transmissions (and the host's) out of the RX ring.
 */
#define _GNU_SOURCE
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef PACKET_FANOUT_DATA
#define PACKET_FANOUT_DATA 22
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define PK_BATCHES_PER_WAKEUP 8

/* The rings' mapping, shared by the socket handle and the JS view of the RX ring: unmapped
 * when both are gone (a view kept after the link must not point at unmapped memory). */
typedef struct pk_map {
  uint8_t *addr;
  size_t len;
  int refs;
} pk_map_t;

static void pk_map_unref(pk_map_t *m) {
  if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  munmap(m->addr, m->len);
  free(m);
}

static void pk_view_finalize(napi_env env, void *data, void *hint) { pk_map_unref((pk_map_t *)hint); }

typedef struct pk {
  napi_env env;
  int fd;
  bool owns_fd; /* false for a socket attached from another thread (pktAttach) */
  pk_map_t *mapping;
  uint8_t *map;
  size_t map_len;
  /* RX */
  uint32_t block_size, block_nr;
  uint32_t cur_block;     /* block being walked */
  uint32_t pkt_left;      /* packets of cur_block not yet handed to JS (when walking) */
  bool walking;           /* cur_block is ours */
  struct tpacket3_hdr *next_pkt;
  /* TX */
  uint8_t *tx;
  uint32_t tx_frame_size, tx_frame_nr, tx_cur;
  uint32_t tx_data_off;
  uint32_t max_frame;
  /* JS */
  napi_ref off_ref, len_ref, cb_ref;
  uint32_t *offs, *lens;
  uint32_t max_batch;
  napi_async_context actx;
  uv_poll_t poll;
  bool poll_inited, polling, closed, handle_closed, finalized;
  double rx_packets, rx_bytes, rx_batches, tx_packets, tx_bytes, tx_dropped, tx_errors, kicks, kick_errors;
  int last_tx_errno, last_kick_errno;
  uint32_t last_err_len;
} pk_t;

static struct tpacket_block_desc *block_at(pk_t *p, uint32_t i) {
  return (struct tpacket_block_desc *)(p->map + (size_t)i * p->block_size);
}

/* Give the current block back to the kernel when JS has seen all of its packets. */
static void pk_finish_block(pk_t *p) {
  if (!p->walking || p->pkt_left > 0) return;
  struct tpacket_block_desc *b = block_at(p, p->cur_block);
  __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  p->walking = false;
  p->cur_block = (p->cur_block + 1) % p->block_nr;
}

/* Fill offs/lens with up to max packets of one block; 0 when no block is ready. The block
 * goes back to the kernel (pk_finish_block) once all its packets were handed out and JS
 * returned from the batch. */
static uint32_t pk_rx(pk_t *p, uint32_t *offs, uint32_t *lens, uint32_t max) {
  while (!p->walking) {
    struct tpacket_block_desc *b = block_at(p, p->cur_block);
    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) return 0;
    p->walking = true;
    p->pkt_left = b->hdr.bh1.num_pkts;
    p->next_pkt = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
    pk_finish_block(p); /* an empty block goes straight back */
  }
  uint32_t n = 0;
  double bytes = 0;
  while (n < max && p->pkt_left > 0) {
    struct tpacket3_hdr *h = p->next_pkt;
    offs[n] = (uint32_t)((uint8_t *)h + h->tp_mac - p->map);
    lens[n] = h->tp_snaplen;
    bytes += h->tp_snaplen;
    n++;
    p->pkt_left--;
    p->next_pkt = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
  }
  if (n) {
    p->rx_packets += n;
    p->rx_bytes += bytes;
    p->rx_batches++;
  }
  return n;
}

static void pk_kick(pk_t *p) {
  for (int tries = 0; tries < 16; tries++) {
    p->kicks++;
    if (sendto(p->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return;
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == ENOBUFS) {
      struct pollfd pf = {.fd = p->fd, .events = POLLOUT, .revents = 0};
      poll(&pf, 1, 1);
      continue;
    }
    p->kick_errors++;
    p->last_kick_errno = e;
    return;
  }
}

static uint32_t pk_tx(pk_t *p, const uint8_t *base, size_t base_len, const uint32_t *offs, const uint32_t *lens, uint32_t count) {
  uint32_t k = 0;
  double bytes = 0;
  bool kicked = false;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t len = lens[i];
    size_t off = offs[i];
    if (len == 0 || off + len > base_len) {
      p->tx_errors++;
      p->last_tx_errno = EFAULT;
      p->last_err_len = len;
      continue;
    }
    if (len > p->max_frame || len < 14) {
      p->tx_errors++;
      p->last_tx_errno = len < 14 ? EINVAL : EMSGSIZE;
      p->last_err_len = len;
      continue;
    }
    struct tpacket3_hdr *h = (struct tpacket3_hdr *)(p->tx + (size_t)p->tx_cur * p->tx_frame_size);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (st != TP_STATUS_AVAILABLE && !(st & TP_STATUS_WRONG_FORMAT)) {
      /* the ring is full of frames not sent yet: send what is queued and look again */
      if (!kicked && k > 0) {
        pk_kick(p);
        kicked = true;
      }
      st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
      if (st != TP_STATUS_AVAILABLE && !(st & TP_STATUS_WRONG_FORMAT)) {
        p->tx_dropped++;
        continue;
      }
    }
    memcpy((uint8_t *)h + p->tx_data_off, base + off, len);
    h->tp_len = len;
    h->tp_snaplen = len;
    h->tp_next_offset = 0;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    p->tx_cur = (p->tx_cur + 1) % p->tx_frame_nr;
    k++;
    bytes += len;
  }
  if (k) pk_kick(p);
  p->tx_packets += k;
  p->tx_bytes += bytes;
  return k;
}

/* ---------------------------------------------------------------- lifecycle */

static void pk_on_closed(uv_handle_t *h) {
  pk_t *p = h->data;
  p->handle_closed = true;
  if (p->finalized) free(p);
}

static void pk_drop_refs(pk_t *p) {
  if (p->off_ref) napi_delete_reference(p->env, p->off_ref);
  if (p->len_ref) napi_delete_reference(p->env, p->len_ref);
  p->off_ref = p->len_ref = NULL;
  p->offs = p->lens = NULL;
}

static void pk_shutdown(pk_t *p) {
  if (p->closed) return;
  p->closed = true;
  p->polling = false;
  if (p->poll_inited)
    uv_close((uv_handle_t *)&p->poll, pk_on_closed);
  else
    p->handle_closed = true;
  if (p->cb_ref) napi_delete_reference(p->env, p->cb_ref);
  p->cb_ref = NULL;
  pk_drop_refs(p);
  if (p->actx) napi_async_destroy(p->env, p->actx);
  p->actx = NULL;
  if (p->fd >= 0 && p->owns_fd) close(p->fd);
  p->fd = -1;
}

static void pk_finalize(napi_env env, void *data, void *hint) {
  pk_t *p = data;
  pk_shutdown(p);
  if (p->mapping) pk_map_unref(p->mapping);
  p->mapping = NULL;
  p->map = NULL;
  p->finalized = true;
  if (p->handle_closed) free(p);
}

/* The JS handle and the RX view of a socket whose rings are mapped at p->map. */
static napi_value pk_wrap(napi_env env, pk_t *p, size_t rx_len) {
  pk_map_t *m = calloc(1, sizeof *m);
  if (!m) {
    if (p->owns_fd) close(p->fd);
    munmap(p->map, p->map_len);
    free(p);
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  m->addr = p->map;
  m->len = p->map_len;
  m->refs = 2; /* the handle and the view */
  p->mapping = m;
  napi_value out, h, ab, view, name, res;
  napi_create_string_utf8(env, "PacketSocket", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &res);
  napi_async_init(env, res, name, &p->actx);
  if (napi_create_external(env, p, pk_finalize, NULL, &h) != napi_ok) {
    pk_shutdown(p);
    munmap(p->map, p->map_len);
    free(m);
    free(p);
    return NULL;
  }
  if (napi_create_external_arraybuffer(env, p->map, rx_len, pk_view_finalize, m, &ab) != napi_ok) {
    pk_map_unref(m);
    tn_throw(env, "ENOTSUP", "this Node.js cannot wrap external memory in an ArrayBuffer");
    return NULL;
  }
  napi_create_typedarray(env, napi_uint8_array, rx_len, ab, 0, &view);
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "handle", h);
  napi_set_named_property(env, out, "view", view);
  tn_set_int(env, out, "fd", p->fd);
  tn_set_int(env, out, "txFrames", p->tx_frame_nr);
  return out;
}

/* TX ring geometry: blocks of max(page, frame) bytes, so frame i sits at i * frame size. */
static void tx_geometry(uint32_t tfs, uint32_t tnr, long page, struct tpacket_req3 *tx) {
  memset(tx, 0, sizeof *tx);
  tx->tp_frame_size = tfs;
  tx->tp_block_size = tfs > (uint32_t)page ? tfs : (uint32_t)page;
  uint32_t per_block = tx->tp_block_size / tfs;
  tx->tp_block_nr = (tnr + per_block - 1) / per_block;
  tx->tp_frame_nr = tx->tp_block_nr * per_block;
}

static pk_t *get_pk(napi_env env, napi_value v) { return tn_external(env, v, "AF_PACKET socket"); }

/*
 * pktOpen(ifindex, blockSize, blockCount, retireMs, txFrameSize, txFrames, fanout, qdiscBypass,
 *         maxFrame, filterFd, fanoutProgFd)
 *   -> { handle, fd, view: Uint8Array (the RX ring) }
 * fanout: 0 for none, else (groupId | mode << 16 | flags << 16) as PACKET_FANOUT takes it.
 * filterFd: a socket filter program attached before bind (SO_ATTACH_BPF), or -1.
 * fanoutProgFd: the group's PACKET_FANOUT_EBPF program (PACKET_FANOUT_DATA), or -1.
 */
TN_FN(PktOpen) {
  napi_value argv[11];
  if (tn_args(env, info, 11, argv)) return NULL;
  int ifindex = tn_i32(env, argv[0]);
  int filter_fd = tn_i32(env, argv[9]);
  int fanout_prog = tn_i32(env, argv[10]);
  uint32_t bsize = tn_u32(env, argv[1]), bnr = tn_u32(env, argv[2]), tov = tn_u32(env, argv[3]);
  uint32_t tfs = tn_u32(env, argv[4]), tnr = tn_u32(env, argv[5]);
  uint32_t fanout = tn_u32(env, argv[6]);
  bool bypass = tn_bool(env, argv[7]);
  uint32_t max_frame = tn_u32(env, argv[8]);
  long page = sysconf(_SC_PAGESIZE);
  if (bsize == 0 || bsize % (uint32_t)page != 0 || bnr == 0 || tfs < 2048 || (tfs & (tfs - 1)) != 0 || tnr == 0) {
    tn_throw(env, "EINVAL", "bad ring geometry (block size: a multiple of the page size; TX frame size: a power of two from 2048)");
    return NULL;
  }
  pk_t *p = calloc(1, sizeof *p);
  if (!p) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  p->env = env;
  p->max_frame = max_frame;
  p->block_size = bsize;
  p->block_nr = bnr;
  p->tx_frame_size = tfs;
  p->tx_frame_nr = tnr;
  p->tx_data_off = TPACKET3_HDRLEN - sizeof(struct sockaddr_ll);
  int err = 0;
  const char *what = "";
  void *map;
  int one = 1, ver = TPACKET_V3;
  /* protocol 0: nothing arrives before bind() names the interface */
  p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (p->fd < 0) XD_FAIL("socket(AF_PACKET)");
  if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) XD_FAIL("setsockopt(PACKET_VERSION, TPACKET_V3)");
  if (bypass && setsockopt(p->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) XD_FAIL("setsockopt(PACKET_QDISC_BYPASS)");
  /* older kernels lack it; then we see our own frames and the host's, which JS filters */
  setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  struct tpacket_req3 rx;
  memset(&rx, 0, sizeof rx);
  rx.tp_block_size = bsize;
  rx.tp_block_nr = bnr;
  rx.tp_frame_size = 2048;
  rx.tp_frame_nr = (uint32_t)(((uint64_t)bsize * bnr) / 2048);
  rx.tp_retire_blk_tov = tov;
  if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) < 0) XD_FAIL("setsockopt(PACKET_RX_RING)");
  struct tpacket_req3 tx;
  tx_geometry(tfs, tnr, page, &tx);
  p->tx_frame_nr = tx.tp_frame_nr;
  if (setsockopt(p->fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) < 0) XD_FAIL("setsockopt(PACKET_TX_RING)");
  size_t rx_len = (size_t)bsize * bnr, tx_len = (size_t)tx.tp_block_size * tx.tp_block_nr;
  p->map_len = rx_len + tx_len;
  if (xd_map_ring(p->fd, 0, p->map_len, &map)) XD_FAIL("mmap(TPACKET_V3 rings)");
  p->map = map;
  p->tx = p->map + rx_len;
  /* the filter first: nothing unwanted lands in the ring between bind and attach */
  if (filter_fd >= 0 && setsockopt(p->fd, SOL_SOCKET, SO_ATTACH_BPF, &filter_fd, sizeof filter_fd) < 0) XD_FAIL("setsockopt(SO_ATTACH_BPF)");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(p->fd, (struct sockaddr *)&sll, sizeof sll) < 0) XD_FAIL("bind(AF_PACKET)");
  if (fanout && setsockopt(p->fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) < 0) XD_FAIL("setsockopt(PACKET_FANOUT)");
  if (fanout_prog >= 0 && setsockopt(p->fd, SOL_PACKET, PACKET_FANOUT_DATA, &fanout_prog, sizeof fanout_prog) < 0)
    XD_FAIL("setsockopt(PACKET_FANOUT_DATA)");

  p->owns_fd = true;
  return pk_wrap(env, p, rx_len);

fail:
  if (p->map) munmap(p->map, p->map_len);
  if (p->fd >= 0) close(p->fd);
  free(p);
  tn_throw_errno(env, err, what);
  return NULL;
}

/*
 * pktAttach(fd, blockSize, blockCount, txFrameSize, txFrames, maxFrame) -> { handle, view, ... }
 * A second handle on a socket opened by pktOpen elsewhere in this process (a worker thread
 * takes over reading it): the rings are mapped again, the fd stays the opener's.
 */
TN_FN(PktAttach) {
  napi_value argv[6];
  if (tn_args(env, info, 6, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  uint32_t bsize = tn_u32(env, argv[1]), bnr = tn_u32(env, argv[2]);
  uint32_t tfs = tn_u32(env, argv[3]), tnr = tn_u32(env, argv[4]);
  long page = sysconf(_SC_PAGESIZE);
  pk_t *p = calloc(1, sizeof *p);
  if (!p) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  struct tpacket_req3 tx;
  tx_geometry(tfs, tnr, page, &tx);
  p->env = env;
  p->fd = fd;
  p->owns_fd = false;
  p->max_frame = tn_u32(env, argv[5]);
  p->block_size = bsize;
  p->block_nr = bnr;
  p->tx_frame_size = tfs;
  p->tx_frame_nr = tx.tp_frame_nr;
  p->tx_data_off = TPACKET3_HDRLEN - sizeof(struct sockaddr_ll);
  size_t rx_len = (size_t)bsize * bnr;
  p->map_len = rx_len + (size_t)tx.tp_block_size * tx.tp_block_nr;
  void *map;
  if (xd_map_ring(fd, 0, p->map_len, &map)) {
    int e = errno;
    free(p);
    tn_throw_errno(env, e, "mmap(TPACKET_V3 rings)");
    return NULL;
  }
  p->map = map;
  p->tx = p->map + rx_len;
  return pk_wrap(env, p, rx_len);
}

static void pk_on_readable(uv_poll_t *h, int status, int events) {
  pk_t *p = h->data;
  if (p->closed || !p->offs) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  for (int round = 0; round < PK_BATCHES_PER_WAKEUP; round++) {
    uint32_t n = pk_rx(p, p->offs, p->lens, p->max_batch);
    if (n == 0) break;
    napi_value cb, global, argv[1], result;
    napi_get_reference_value(env, p->cb_ref, &cb);
    napi_get_global(env, &global);
    napi_create_uint32(env, n, &argv[0]);
    napi_status st = napi_make_callback(env, p->actx, global, cb, 1, argv, &result);
    if (p->closed) break;
    pk_finish_block(p);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    if (!p->polling || !p->offs) break;
  }
  napi_close_handle_scope(env, scope);
}

TN_FN(PktStart) {
  napi_value argv[4];
  if (tn_args(env, info, 4, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  if (p->closed) {
    tn_throw_errno(env, EBADF, "pktStart");
    return NULL;
  }
  void *offs, *lens;
  size_t no, nl;
  if (tn_typed(env, argv[1], napi_uint32_array, &offs, &no)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &lens, &nl)) return NULL;
  pk_drop_refs(p);
  if (p->cb_ref) napi_delete_reference(env, p->cb_ref);
  napi_create_reference(env, argv[1], 1, &p->off_ref);
  napi_create_reference(env, argv[2], 1, &p->len_ref);
  napi_create_reference(env, argv[3], 1, &p->cb_ref);
  p->offs = offs;
  p->lens = lens;
  p->max_batch = (uint32_t)(no < nl ? no : nl);
  if (tn_poll_start(env, &p->poll, &p->poll_inited, p->fd, p, pk_on_readable)) return NULL;
  p->polling = true;
  return tn_undef(env);
}

TN_FN(PktStop) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  if (!p->closed && p->poll_inited && p->polling) uv_poll_stop(&p->poll);
  p->polling = false;
  return tn_undef(env);
}

TN_FN(PktRef) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  tn_poll_ref(&p->poll, p->poll_inited, p->closed, tn_bool(env, argv[1]));
  return tn_undef(env);
}

/* pktRead(h, offsets, lengths) -> count (pull form; the previous batch is released first) */
TN_FN(PktRead) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  if (p->closed) return tn_int(env, 0);
  void *offs, *lens;
  size_t no, nl;
  if (tn_typed(env, argv[1], napi_uint32_array, &offs, &no)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &lens, &nl)) return NULL;
  pk_finish_block(p);
  return tn_int(env, pk_rx(p, offs, lens, (uint32_t)(no < nl ? no : nl)));
}

TN_FN(PktRelease) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  if (!p->closed) pk_finish_block(p);
  return tn_undef(env);
}

TN_FN(PktWrite) {
  napi_value argv[5];
  if (tn_args(env, info, 5, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  void *buf, *offs, *lens;
  size_t bl, no, nl;
  if (tn_typed(env, argv[1], napi_uint8_array, &buf, &bl)) return NULL;
  if (tn_typed(env, argv[2], napi_uint32_array, &offs, &no)) return NULL;
  if (tn_typed(env, argv[3], napi_uint32_array, &lens, &nl)) return NULL;
  uint32_t count = tn_u32(env, argv[4]);
  if (count > no) count = (uint32_t)no;
  if (count > nl) count = (uint32_t)nl;
  if (p->closed) {
    p->tx_dropped += count;
    return tn_int(env, 0);
  }
  return tn_int(env, pk_tx(p, buf, bl, offs, lens, count));
}

/*
 * pktStats(h, out: Float64Array(16)):
 *  0 rxPackets 1 rxBytes 2 rxBatches 3 txPackets 4 txBytes 5 txDropped 6 txErrors 7 (0)
 *  8 kicks 9 kickErrors 10 lastTxErrno 11 lastErrLen 12 lastKickErrno
 *  13 kernel tp_packets 14 kernel tp_drops 15 kernel tp_freeze_q_cnt (PACKET_STATISTICS,
 *  which resets on read: these are the counts since the previous call)
 */
TN_FN(PktStats) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  void *outp;
  size_t n;
  if (tn_typed(env, argv[1], napi_float64_array, &outp, &n)) return NULL;
  if (n < 16) {
    tn_throw(env, "EINVAL", "stats needs a Float64Array(16)");
    return NULL;
  }
  double *o = outp;
  o[0] = p->rx_packets;
  o[1] = p->rx_bytes;
  o[2] = p->rx_batches;
  o[3] = p->tx_packets;
  o[4] = p->tx_bytes;
  o[5] = p->tx_dropped;
  o[6] = p->tx_errors;
  o[7] = 0;
  o[8] = p->kicks;
  o[9] = p->kick_errors;
  o[10] = p->last_tx_errno;
  o[11] = p->last_err_len;
  o[12] = p->last_kick_errno;
  o[13] = o[14] = o[15] = 0;
  if (!p->closed) {
    struct tpacket_stats_v3 st;
    socklen_t l = sizeof st;
    memset(&st, 0, sizeof st);
    if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0) {
      o[13] = st.tp_packets;
      o[14] = st.tp_drops;
      o[15] = st.tp_freeze_q_cnt;
    }
  }
  return tn_undef(env);
}

TN_FN(PktClose) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  pk_shutdown(p);
  return tn_undef(env);
}

void xd_pkt_init(napi_env env, napi_value exports) {
  napi_property_descriptor pr[] = {
      TN_PROP("pktOpen", PktOpen),   TN_PROP("pktAttach", PktAttach), TN_PROP("pktStart", PktStart),
      TN_PROP("pktStop", PktStop),
      TN_PROP("pktRef", PktRef),     TN_PROP("pktRead", PktRead),   TN_PROP("pktRelease", PktRelease),
      TN_PROP("pktWrite", PktWrite), TN_PROP("pktStats", PktStats), TN_PROP("pktClose", PktClose),
  };
  napi_define_properties(env, exports, sizeof pr / sizeof pr[0], pr);
}
