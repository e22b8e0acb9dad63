/*
 * afpacket.c: AF_PACKET sockets with TPACKET_V2 memory-mapped rings.
 *
 * RX: a ring of fixed frames, each with its own status word. The kernel writes a frame and
 * marks it TP_STATUS_USER at once, so a frame is ours (and poll says so) the moment it
 * lands: no block to fill, no block timer (TPACKET_V3 holds a part-filled block for at
 * least 1 ms, which a request/response flow pays at every hop). We hand JS up to a batch of
 * (offset, length) pairs pointing into the mapped ring and give the frames back
 * (TP_STATUS_KERNEL) once JS has returned from the batch.
 * A frame longer than a ring frame (a GSO super-packet, a jumbo frame) is cut in the ring
 * and marked TP_STATUS_COPY, and the kernel queues the whole of it on the socket too
 * (PACKET_COPY_THRESH): we read that copy with recvmsg() into a staging slot, which the
 * view covers too (the staging area sits right before the ring in one reservation).
 * TX: a ring of fixed frames, on a second socket that receives nothing and is not polled
 * (see PktOpen); a write copies each packet into the next free frame, marks it
 * TP_STATUS_SEND_REQUEST and one sendto() sends them all. PACKET_QDISC_BYPASS hands
 * frames straight to the driver; PACKET_FANOUT spreads RX over several sockets;
 * PACKET_IGNORE_OUTGOING keeps our own transmissions (and the host's) out of the RX ring.
 * With PACKET_VNET_HDR every frame, both ways, starts with a struct virtio_net_hdr (10
 * bytes): the kernel hands us GSO super-packets and partial checksums as they are, and
 * takes them back the same way (it segments or offloads after us). A handed-out frame then
 * starts at its vnet header, just before the MAC header.
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
#include <sys/uio.h>
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
#ifndef PACKET_VNET_HDR
#define PACKET_VNET_HDR 15
#endif
#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif
#ifndef SO_SNDBUFFORCE
#define SO_SNDBUFFORCE 32
#endif
/* sizeof(struct virtio_net_hdr): what PACKET_VNET_HDR puts in front of each frame */
#define PK_VNET_LEN 10
/* RX ring frames: a full 1500-byte-MTU frame with a VLAN tag and a vnet header fits */
#define PK_RX_FRAME 2048
/* staging slots for frames longer than a ring frame: a 64 KiB GSO frame and its headers */
#define PK_STAGE_SLOT (1u << 17)
#define PK_STAGE_SLOTS 16
/* the socket's receive buffer, where the whole copies of long frames wait */
#define PK_RCVBUF (8 << 20)

#define PK_BATCHES_PER_WAKEUP 8
/* a sent frame up to this long (without its vnet header) is copied into the skb whole */
#define PK_LINEAR_MAX 2048

/* The reservation (staging area, then the rings), shared by the socket handle and the JS
 * view: unmapped when both are gone (a view kept after the link must not point at unmapped
 * memory). */
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
  int tfd;      /* the transmit socket (its TX ring): see PktOpen */
  pk_map_t *mapping;
  uint8_t *map;   /* the reservation: staging slots, RX ring, TX ring */
  size_t map_len;
  uint32_t stage_used; /* staging slots in use (they start at map) */
  /* RX */
  uint8_t *rx;
  uint32_t rx_frame_nr;
  uint32_t rx_cur;       /* the next frame to look at */
  uint32_t rx_held_from; /* frames handed to JS, given back by pk_finish */
  uint32_t rx_held;
  uint32_t vnet; /* bytes of virtio_net_hdr before each frame (0 or PK_VNET_LEN) */
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
  double rx_packets, rx_bytes, rx_batches, rx_truncated, rx_copied, tx_packets, tx_bytes, tx_dropped, tx_errors, kicks, kick_errors;
  int last_tx_errno, last_kick_errno;
  uint32_t last_err_len;
} pk_t;

static struct tpacket2_hdr *rx_frame(pk_t *p, uint32_t i) { return (struct tpacket2_hdr *)(p->rx + (size_t)i * PK_RX_FRAME); }

/* Give the frames of the last batch back to the kernel (JS has returned from it). */
static void pk_finish(pk_t *p) {
  for (uint32_t k = 0; k < p->rx_held; k++) {
    uint32_t i = p->rx_held_from + k;
    if (i >= p->rx_frame_nr) i -= p->rx_frame_nr;
    __atomic_store_n(&rx_frame(p, i)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  }
  p->rx_held = 0;
  p->stage_used = 0;
}

/* Read the whole copy of a long frame (queued on the socket) into the next staging slot:
 * its length (vnet header included), or 0 when it could not be read whole. */
static uint32_t pk_read_copy(pk_t *p) {
  uint8_t *slot = p->map + (size_t)p->stage_used * PK_STAGE_SLOT;
  struct iovec iov = {.iov_base = slot, .iov_len = PK_STAGE_SLOT};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  ssize_t r;
  do r = recvmsg(p->fd, &m, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r <= 0 || (m.msg_flags & MSG_TRUNC) || (uint32_t)r < 14 + p->vnet) return 0;
  return (uint32_t)r;
}

/* Fill offs/lens with up to max frames that are ours now; they stay ours until pk_finish. */
static uint32_t pk_rx(pk_t *p, uint32_t *offs, uint32_t *lens, uint32_t max) {
  if (p->rx_held) pk_finish(p);
  uint32_t n = 0, v = p->vnet;
  double bytes = 0;
  p->rx_held_from = p->rx_cur;
  while (n < max) {
    struct tpacket2_hdr *h = rx_frame(p, p->rx_cur);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (!(st & TP_STATUS_USER)) break;
    /* a long frame needs a free staging slot: else it waits for the next batch */
    if ((st & TP_STATUS_COPY) && p->stage_used == PK_STAGE_SLOTS) break;
    p->rx_cur = p->rx_cur + 1 == p->rx_frame_nr ? 0 : p->rx_cur + 1;
    p->rx_held++;
    if (st & TP_STATUS_COPY) {
      uint32_t len = pk_read_copy(p);
      if (len == 0) {
        p->rx_truncated++;
        continue;
      }
      offs[n] = (uint32_t)((size_t)p->stage_used * PK_STAGE_SLOT);
      lens[n] = len;
      p->stage_used++;
      p->rx_copied++;
      bytes += len - v;
      n++;
      continue;
    }
    /* cut without a whole copy (the receive buffer was full): useless, and without its
     * vnet header (the kernel leaves it out of a cut frame) */
    if (h->tp_snaplen != h->tp_len) {
      p->rx_truncated++;
      continue;
    }
    offs[n] = (uint32_t)((uint8_t *)h + h->tp_mac - v - p->map);
    lens[n] = h->tp_snaplen + v;
    bytes += h->tp_snaplen;
    n++;
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
    if (sendto(p->tfd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return;
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == ENOBUFS) {
      struct pollfd pf = {.fd = p->tfd, .events = POLLOUT, .revents = 0};
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
    if (len > p->max_frame || len < 14 + p->vnet) {
      p->tx_errors++;
      p->last_tx_errno = len < 14 + p->vnet ? EINVAL : EMSGSIZE;
      p->last_err_len = len;
      continue;
    }
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(p->tx + (size_t)p->tx_cur * p->tx_frame_size);
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
    uint8_t *d = (uint8_t *)h + p->tx_data_off;
    memcpy(d, base + off, len);
    /* A frame that is not GSO goes into the skb's linear part whole (hdr_len is how much
     * the kernel copies there). Else the kernel links the rest of it as frags of the ring's
     * pages, and copies them into fresh pages (skb_copy_ubufs) when the skb is orphaned or
     * crosses into another namespace: 9 % of tunvsd's time on veth. A GSO frame keeps its
     * header length: 64 KiB of linear skb is worse than that copy. */
    if (p->vnet && d[1] == 0 && len - p->vnet <= PK_LINEAR_MAX) {
      uint32_t fl = len - p->vnet;
      d[2] = (uint8_t)(fl & 0xff);
      d[3] = (uint8_t)(fl >> 8);
    }
    h->tp_len = len;
    h->tp_snaplen = len;
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
  if (p->tfd >= 0 && p->owns_fd) close(p->tfd);
  p->fd = p->tfd = -1;
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

/* The JS handle and the view (staging slots and RX ring) of a socket mapped at p->map. */
static napi_value pk_wrap(napi_env env, pk_t *p, size_t view_len) {
  pk_map_t *m = calloc(1, sizeof *m);
  if (!m) {
    if (p->owns_fd) {
      close(p->fd);
      close(p->tfd);
    }
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
  if (napi_create_external_arraybuffer(env, p->map, view_len, pk_view_finalize, m, &ab) != napi_ok) {
    pk_map_unref(m);
    tn_throw(env, "ENOTSUP", "this Node.js cannot wrap external memory in an ArrayBuffer");
    return NULL;
  }
  napi_create_typedarray(env, napi_uint8_array, view_len, ab, 0, &view);
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "handle", h);
  napi_set_named_property(env, out, "view", view);
  tn_set_int(env, out, "fd", p->fd);
  tn_set_int(env, out, "txFd", p->tfd);
  tn_set_int(env, out, "rxFrames", p->rx_frame_nr);
  tn_set_int(env, out, "txFrames", p->tx_frame_nr);
  return out;
}

/* Ring geometry (TPACKET_V2 takes struct tpacket_req): blocks of max(page, frame) bytes, so
 * frame i sits at i * frame size; at least `nr` frames. */
static void ring_geometry(uint32_t fs, uint32_t nr, long page, struct tpacket_req *r) {
  memset(r, 0, sizeof *r);
  r->tp_frame_size = fs;
  r->tp_block_size = fs > (uint32_t)page ? fs : (uint32_t)page;
  uint32_t per_block = r->tp_block_size / fs;
  r->tp_block_nr = (nr + per_block - 1) / per_block;
  r->tp_frame_nr = r->tp_block_nr * per_block;
}

static size_t ring_bytes(const struct tpacket_req *r) { return (size_t)r->tp_block_size * r->tp_block_nr; }

#define PK_STAGE_LEN ((size_t)PK_STAGE_SLOTS * PK_STAGE_SLOT)

/* Reserve the staging area and map the rings right after it, the receive socket's RX ring
 * then the transmit socket's TX ring: 0 with p->map (the staging slots), p->rx, p->tx and
 * p->map_len set, or -1 with errno. */
static int pk_map(pk_t *p, size_t rx_len, size_t tx_len) {
  size_t len = PK_STAGE_LEN + rx_len + tx_len;
  uint8_t *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return -1;
  void *m = mmap(r + PK_STAGE_LEN, rx_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, p->fd, 0);
  if (m != MAP_FAILED) m = mmap(r + PK_STAGE_LEN + rx_len, tx_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, p->tfd, 0);
  if (m == MAP_FAILED) {
    int e = errno;
    munmap(r, len);
    errno = e;
    return -1;
  }
  p->map = r;
  p->map_len = len;
  p->rx = r + PK_STAGE_LEN;
  p->tx = p->rx + rx_len;
  return 0;
}

/* TPACKET2_HDRLEN - sizeof(sockaddr_ll): where a TX frame's data starts */
#define PK_TX_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

static pk_t *get_pk(napi_env env, napi_value v) { return tn_external(env, v, "AF_PACKET socket"); }

/*
 * pktOpen(ifindex, rxFrames, txFrameSize, txFrames, fanout, qdiscBypass, maxFrame, filterFd,
 *         fanoutProgFd, vnetHdr)
 *   -> { handle, fd, txFd, view: Uint8Array (the staging slots, then the RX ring), rxFrames, txFrames }
 * Two sockets: `fd` receives (the RX ring; the one polled) and `txFd` transmits (the TX
 * ring; bound with protocol 0, so it receives nothing, and in no poll set). Every frame
 * sent is charged to its socket until the skb is freed, and the free (sock_wfree, and the
 * ring's completion) wakes the socket's waiters: on one socket that is our own poll
 * entry, taken and walked for every frame we send. On a socket nobody waits on, nothing.
 * fanout: 0 for none, else (groupId | mode << 16 | flags << 16) as PACKET_FANOUT takes it.
 * filterFd: a socket filter program attached before bind (SO_ATTACH_BPF), or -1.
 * fanoutProgFd: the group's PACKET_FANOUT_EBPF program (PACKET_FANOUT_DATA), or -1.
 * vnetHdr: PACKET_VNET_HDR (frames both ways start with a virtio_net_hdr; maxFrame counts it).
 */
TN_FN(PktOpen) {
  napi_value argv[10];
  if (tn_args(env, info, 10, argv)) return NULL;
  int ifindex = tn_i32(env, argv[0]);
  uint32_t rnr = tn_u32(env, argv[1]);
  uint32_t tfs = tn_u32(env, argv[2]), tnr = tn_u32(env, argv[3]);
  uint32_t fanout = tn_u32(env, argv[4]);
  bool bypass = tn_bool(env, argv[5]);
  uint32_t max_frame = tn_u32(env, argv[6]);
  int filter_fd = tn_i32(env, argv[7]);
  int fanout_prog = tn_i32(env, argv[8]);
  bool vnet = tn_bool(env, argv[9]);
  long page = sysconf(_SC_PAGESIZE);
  if (rnr == 0 || tfs < 2048 || (tfs & (tfs - 1)) != 0 || tnr == 0 || max_frame + PK_TX_DATA_OFF > tfs) {
    tn_throw(env, "EINVAL", "bad ring geometry (RX frames: at least 1; TX frame size: a power of two from 2048, room for the longest frame)");
    return NULL;
  }
  pk_t *p = calloc(1, sizeof *p);
  if (!p) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  p->env = env;
  p->max_frame = max_frame;
  p->tx_frame_size = tfs;
  p->tx_data_off = PK_TX_DATA_OFF;
  p->vnet = vnet ? PK_VNET_LEN : 0;
  int err = 0;
  const char *what = "";
  int one = 1, ver = TPACKET_V2, rcvbuf = PK_RCVBUF;
  p->tfd = -1;
  /* protocol 0: nothing arrives before bind() names the interface */
  p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (p->fd < 0) XD_FAIL("socket(AF_PACKET)");
  p->tfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (p->tfd < 0) XD_FAIL("socket(AF_PACKET) for transmitting");
  if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) XD_FAIL("setsockopt(PACKET_VERSION, TPACKET_V2)");
  if (setsockopt(p->tfd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) XD_FAIL("setsockopt(PACKET_VERSION, TPACKET_V2)");
  if (bypass && setsockopt(p->tfd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) XD_FAIL("setsockopt(PACKET_QDISC_BYPASS)");
  /* older kernels lack it; then we see our own frames and the host's, which JS filters */
  setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  /* before the rings: the kernel refuses it once they exist */
  if (vnet && (setsockopt(p->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0 ||
               setsockopt(p->tfd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0))
    XD_FAIL("setsockopt(PACKET_VNET_HDR)");
  /* long frames: cut in the ring, queued whole on the socket (read by pk_read_copy) */
  if (setsockopt(p->fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0) XD_FAIL("setsockopt(PACKET_COPY_THRESH)");
  if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* without CAP_NET_ADMIN: up to rmem_max */
  struct tpacket_req rx, tx;
  ring_geometry(PK_RX_FRAME, rnr, page, &rx);
  if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) < 0) XD_FAIL("setsockopt(PACKET_RX_RING)");
  ring_geometry(tfs, tnr, page, &tx);
  if (setsockopt(p->tfd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) < 0) XD_FAIL("setsockopt(PACKET_TX_RING)");
  p->rx_frame_nr = rx.tp_frame_nr;
  p->tx_frame_nr = tx.tp_frame_nr;
  /* a sent frame's bytes count against the send buffer until the skb is freed: a buffer
   * the size of the TX ring lets the ring, not the default 208 KiB, bound what is in flight
   * (else a kick stops half way with EAGAIN, and POLLOUT waits for a ring frame) */
  int sndbuf = ring_bytes(&tx) > (size_t)(64 << 20) ? 64 << 20 : (int)ring_bytes(&tx);
  if (sndbuf < (4 << 20)) sndbuf = 4 << 20;
  if (setsockopt(p->tfd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(p->tfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (pk_map(p, ring_bytes(&rx), ring_bytes(&tx))) XD_FAIL("mmap(TPACKET_V2 rings)");
  /* the filter first: nothing unwanted lands in the ring between bind and attach */
  if (filter_fd >= 0 && setsockopt(p->fd, SOL_SOCKET, SO_ATTACH_BPF, &filter_fd, sizeof filter_fd) < 0) XD_FAIL("setsockopt(SO_ATTACH_BPF)");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(p->fd, (struct sockaddr *)&sll, sizeof sll) < 0) XD_FAIL("bind(AF_PACKET)");
  /* the transmit socket on the same interface, protocol 0: it takes nothing in (the kernel
   * reads each frame's protocol from its Ethernet header) */
  sll.sll_protocol = 0;
  if (bind(p->tfd, (struct sockaddr *)&sll, sizeof sll) < 0) XD_FAIL("bind(AF_PACKET) for transmitting");
  if (fanout && setsockopt(p->fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) < 0) XD_FAIL("setsockopt(PACKET_FANOUT)");
  if (fanout_prog >= 0 && setsockopt(p->fd, SOL_PACKET, PACKET_FANOUT_DATA, &fanout_prog, sizeof fanout_prog) < 0)
    XD_FAIL("setsockopt(PACKET_FANOUT_DATA)");

  p->owns_fd = true;
  return pk_wrap(env, p, PK_STAGE_LEN + ring_bytes(&rx));

fail:
  if (p->map) munmap(p->map, p->map_len);
  if (p->fd >= 0) close(p->fd);
  if (p->tfd >= 0) close(p->tfd);
  free(p);
  tn_throw_errno(env, err, what);
  return NULL;
}

/*
 * pktAttach(fd, txFd, rxFrames, txFrameSize, txFrames, maxFrame, vnetHdr) -> { handle, view, ... }
 * A second handle on the two sockets pktOpen opened elsewhere in this process (a worker thread
 * takes over reading it): the rings are mapped again (with staging slots of its own), the
 * fds stay the opener's.
 */
TN_FN(PktAttach) {
  napi_value argv[7];
  if (tn_args(env, info, 7, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  int tfd = tn_i32(env, argv[1]);
  uint32_t rnr = tn_u32(env, argv[2]);
  uint32_t tfs = tn_u32(env, argv[3]), tnr = tn_u32(env, argv[4]);
  long page = sysconf(_SC_PAGESIZE);
  pk_t *p = calloc(1, sizeof *p);
  if (!p) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  struct tpacket_req rx, tx;
  ring_geometry(PK_RX_FRAME, rnr, page, &rx);
  ring_geometry(tfs, tnr, page, &tx);
  p->env = env;
  p->fd = fd;
  p->tfd = tfd;
  p->owns_fd = false;
  p->max_frame = tn_u32(env, argv[5]);
  p->vnet = tn_bool(env, argv[6]) ? PK_VNET_LEN : 0;
  p->rx_frame_nr = rx.tp_frame_nr;
  p->tx_frame_size = tfs;
  p->tx_frame_nr = tx.tp_frame_nr;
  p->tx_data_off = PK_TX_DATA_OFF;
  if (pk_map(p, ring_bytes(&rx), ring_bytes(&tx))) {
    int e = errno;
    free(p);
    tn_throw_errno(env, e, "mmap(TPACKET_V2 rings)");
    return NULL;
  }
  return pk_wrap(env, p, PK_STAGE_LEN + ring_bytes(&rx));
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
    pk_finish(p);
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
  pk_finish(p);
  return tn_int(env, pk_rx(p, offs, lens, (uint32_t)(no < nl ? no : nl)));
}

TN_FN(PktRelease) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  pk_t *p = get_pk(env, argv[0]);
  if (!p) return NULL;
  if (!p->closed) pk_finish(p);
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
 *  0 rxPackets 1 rxBytes 2 rxBatches 3 txPackets 4 txBytes 5 txDropped 6 txErrors
 *  7 rxTruncated (frames cut in the ring without a whole copy, or a copy not read whole: dropped)
 *  8 kicks 9 kickErrors 10 lastTxErrno 11 lastErrLen 12 lastKickErrno
 *  13 kernel tp_packets 14 kernel tp_drops (PACKET_STATISTICS, which resets on read: these
 *  are the counts since the previous call) 15 rxCopied (long frames read from their copy)
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
  o[7] = p->rx_truncated;
  o[8] = p->kicks;
  o[9] = p->kick_errors;
  o[10] = p->last_tx_errno;
  o[11] = p->last_err_len;
  o[12] = p->last_kick_errno;
  o[13] = o[14] = 0;
  o[15] = p->rx_copied;
  if (!p->closed) {
    struct tpacket_stats st;
    socklen_t l = sizeof st;
    memset(&st, 0, sizeof st);
    if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0) {
      o[13] = st.tp_packets;
      o[14] = st.tp_drops;
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
