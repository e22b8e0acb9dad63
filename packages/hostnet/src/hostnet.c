/*
 * hostnet.c: the native half of @tunvs/hostnet (plain N-API + libuv): the host networking
 * Node has no API for, as keepalived's VRRP process uses it.
 *
 *   - raw IPv4 sockets for one protocol (112 = VRRP): bound to a device, IP_HDRINCL for
 *     sending, multicast loop and IP_MULTICAST_ALL off, IP_PKTINFO on; joining a group on
 *     an interface; received datagrams come with their IP header (so TTL can be checked),
 *     the arrival interface and the destination address;
 *   - AF_PACKET sockets bound to an interface, to send Ethernet frames (gratuitous ARP);
 *   - NETLINK_ROUTE sockets: a request/acknowledge call (and dumps) for messages built in
 *     TypeScript, and event sockets subscribed to multicast groups (links, addresses);
 *   - interface facts by ioctl (index, MAC, flags, MTU);
 *   - the CPUs the calling thread may run on (sched_getaffinity / sched_setaffinity with
 *     pid 0, which names the calling thread: tunvsd pins each Director's thread to a core).
 *
 * Readers are uv_poll watchers that drain the non-blocking socket on readiness and call JS
 * once per datagram with a fresh Uint8Array (control-plane traffic: a few per second).
 * Errors thrown to JS carry `code` (e.g. "EPERM"), `errno` and `syscall`.
 */
#define _GNU_SOURCE
#include "tunvs-napi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IP_MULTICAST_ALL
#define IP_MULTICAST_ALL 49
#endif

/* ---------------------------------------------------------------- argument helpers */

/* A Uint8Array argument (this addon names the wanted type also when it is no typed array). */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) {
    tn_throw(env, "EINVAL", "expected a Uint8Array");
    return -1;
  }
  return tn_typed(env, v, napi_uint8_array, data, len);
}

/* ---------------------------------------------------------------- raw IPv4 sockets */

/* openRawIp(protocol, ifname, hdrincl) -> fd
 * ifname "" = not bound to a device. Non-blocking, close-on-exec, multicast loop off,
 * IP_MULTICAST_ALL off (only groups joined on this socket), IP_PKTINFO on. */
static napi_value OpenRawIp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  int proto = tn_i32(env, argv[0]);
  char ifname[IFNAMSIZ];
  if (tn_ifname(env, argv[1], ifname)) return NULL;
  bool hdrincl = tn_bool(env, argv[2]);
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    tn_throw_errno(env, errno, "socket(AF_INET, SOCK_RAW)");
    return NULL;
  }
  int zero = 0, one = 1;
  const char *fail = NULL;
  if (hdrincl && setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) fail = "IP_HDRINCL";
  else if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero) < 0) fail = "IP_MULTICAST_LOOP";
  else if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero) < 0) fail = "IP_MULTICAST_ALL";
  else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) fail = "IP_PKTINFO";
  else if (ifname[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) < 0) fail = "SO_BINDTODEVICE";
  if (ifname[0] && !fail) {
    unsigned idx = if_nametoindex(ifname);
    struct ip_mreqn m;
    memset(&m, 0, sizeof m);
    m.imr_ifindex = (int)idx;
    if (idx == 0) fail = "if_nametoindex";
    else if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) < 0) fail = "IP_MULTICAST_IF";
  }
  if (fail) {
    int e = errno;
    close(fd);
    tn_throw_errno(env, e, fail);
    return NULL;
  }
  return tn_int(env, fd);
}

/* joinGroup(fd, group, ifindex, join) with IP_ADD/DROP_MEMBERSHIP (struct ip_mreqn). */
static napi_value JoinGroup(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (tn_args(env, info, 4, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  uint32_t group = tn_u32(env, argv[1]);
  int ifindex = tn_i32(env, argv[2]);
  bool join = tn_bool(env, argv[3]);
  struct ip_mreqn m;
  memset(&m, 0, sizeof m);
  m.imr_multiaddr.s_addr = htonl(group);
  m.imr_ifindex = ifindex;
  if (setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m) < 0) {
    tn_throw_errno(env, errno, join ? "IP_ADD_MEMBERSHIP" : "IP_DROP_MEMBERSHIP");
    return NULL;
  }
  return tn_undef(env);
}

/* sendIp(fd, datagram, dst) -> bytes sent. With IP_HDRINCL the datagram carries its own
 * header (the kernel fills the checksum and, when 0, the id); dst picks the route. */
static napi_value SendIp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  void *buf;
  size_t len;
  if (get_bytes(env, argv[1], &buf, &len)) return NULL;
  uint32_t dst = tn_u32(env, argv[2]);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(dst);
  for (;;) {
    ssize_t r = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
    if (r >= 0) return tn_int(env, (int32_t)r);
    if (errno == EINTR) continue;
    tn_throw_errno(env, errno, "sendto");
    return NULL;
  }
}

/* ---------------------------------------------------------------- packet sockets */

/* openPacket(ifindex) -> fd: AF_PACKET/SOCK_RAW bound to the interface with protocol 0,
 * so it receives nothing and only sends. */
static napi_value OpenPacket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  int ifindex = tn_i32(env, argv[0]);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    tn_throw_errno(env, errno, "socket(AF_PACKET)");
    return NULL;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_protocol = 0;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    tn_throw_errno(env, e, "bind(AF_PACKET)");
    return NULL;
  }
  return tn_int(env, fd);
}

/* sendFrame(fd, frame, ifindex) -> bytes: one Ethernet frame out of the interface. */
static napi_value SendFrame(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  void *buf;
  size_t len;
  if (get_bytes(env, argv[1], &buf, &len)) return NULL;
  int ifindex = tn_i32(env, argv[2]);
  if (len < 14) {
    tn_throw(env, "EINVAL", "a frame has at least an Ethernet header");
    return NULL;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_halen = ETH_ALEN;
  memcpy(sll.sll_addr, buf, ETH_ALEN);
  sll.sll_protocol = *(uint16_t *)((uint8_t *)buf + 12);
  for (;;) {
    ssize_t r = sendto(fd, buf, len, 0, (struct sockaddr *)&sll, sizeof sll);
    if (r >= 0) return tn_int(env, (int32_t)r);
    if (errno == EINTR) continue;
    tn_throw_errno(env, errno, "sendto(AF_PACKET)");
    return NULL;
  }
}

/* ---------------------------------------------------------------- netlink */

/* openNetlink(groups, blocking) -> fd: NETLINK_ROUTE, bound with these multicast groups
 * (RTMGRP_* bits). A request socket is blocking with a 2 s receive timeout; an event
 * socket is non-blocking and read by a watcher. */
static napi_value OpenNetlink(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  uint32_t groups = tn_u32(env, argv[0]);
  bool blocking = tn_bool(env, argv[1]);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), NETLINK_ROUTE);
  if (fd < 0) {
    tn_throw_errno(env, errno, "socket(AF_NETLINK)");
    return NULL;
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    tn_throw_errno(env, e, "bind(AF_NETLINK)");
    return NULL;
  }
  if (blocking) {
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  int ext = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &ext, sizeof ext);
  return tn_int(env, fd);
}

/* netlinkRequest(fd, message) -> { error, messages: Uint8Array[] }
 * Sends one request (its nlmsg_seq identifies the answers) and reads until the ACK
 * (NLMSG_ERROR with the same seq) or, for dumps, NLMSG_DONE. `error` is the positive
 * errno of the ACK (0 = success). Every answer message of a dump is returned whole. */
static napi_value NetlinkRequest(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  void *msg;
  size_t len;
  if (get_bytes(env, argv[1], &msg, &len)) return NULL;
  if (len < sizeof(struct nlmsghdr)) {
    tn_throw(env, "EINVAL", "netlink message shorter than its header");
    return NULL;
  }
  uint32_t seq = ((struct nlmsghdr *)msg)->nlmsg_seq;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t r = sendto(fd, msg, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (r >= 0) break;
    if (errno == EINTR) continue;
    tn_throw_errno(env, errno, "sendto(AF_NETLINK)");
    return NULL;
  }
  napi_value list;
  napi_create_array(env, &list);
  uint32_t n = 0;
  int error = 0;
  static uint8_t buf[65536];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      tn_throw_errno(env, errno == EAGAIN ? ETIMEDOUT : errno, "recv(AF_NETLINK)");
      return NULL;
    }
    bool done = false;
    int rem = (int)r;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(h);
        error = -e->error;
        done = true;
        break;
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      napi_set_element(env, list, n++, tn_bytes(env, h, h->nlmsg_len));
    }
    if (done) break;
  }
  napi_value out, ev;
  napi_create_object(env, &out);
  napi_create_int32(env, error, &ev);
  napi_set_named_property(env, out, "error", ev);
  napi_set_named_property(env, out, "messages", list);
  return out;
}

/* ---------------------------------------------------------------- watchers */

typedef struct watcher {
  napi_env env;
  int fd;
  int kind; /* 0 raw IP (pktinfo), 1 netlink */
  uv_poll_t poll;
  bool poll_inited;
  int closed;
  int handle_closed;
  int finalized;
  napi_ref cb_ref;
  napi_async_context actx;
} watcher_t;

static void on_watch_closed(uv_handle_t *h) {
  watcher_t *w = (watcher_t *)h->data;
  w->handle_closed = 1;
  if (w->finalized) free(w);
}

static void watcher_shutdown(watcher_t *w) {
  if (w->closed) return;
  w->closed = 1;
  if (w->poll_inited)
    uv_close((uv_handle_t *)&w->poll, on_watch_closed);
  else
    w->handle_closed = 1;
  if (w->cb_ref) {
    napi_delete_reference(w->env, w->cb_ref);
    w->cb_ref = NULL;
  }
  if (w->actx) {
    napi_async_destroy(w->env, w->actx);
    w->actx = NULL;
  }
  if (w->fd >= 0) {
    close(w->fd);
    w->fd = -1;
  }
}

static void watcher_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  watcher_t *w = (watcher_t *)data;
  watcher_shutdown(w);
  w->finalized = 1;
  if (w->handle_closed) free(w);
}

static watcher_t *get_watcher(napi_env env, napi_value v) { return (watcher_t *)tn_external(env, v, "watcher"); }

/* Drain the socket: callback(data: Uint8Array, ifindex, dst) for raw IP, callback(data)
 * for netlink (one call per datagram; a netlink datagram may hold several messages). */
static void on_watch_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  watcher_t *w = (watcher_t *)h->data;
  if (w->closed || status < 0) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  static uint8_t buf[65536];
  for (int round = 0; round < 64 && !w->closed; round++) {
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    char cbuf[256];
    struct sockaddr_storage from;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    ssize_t r = recvmsg(w->fd, &mh, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      break; /* EAGAIN, or an error we cannot do anything about here */
    }
    int ifindex = 0;
    uint32_t dst = 0;
    if (w->kind == 0) {
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          struct in_pktinfo pi;
          memcpy(&pi, CMSG_DATA(c), sizeof pi);
          ifindex = pi.ipi_ifindex;
          dst = ntohl(pi.ipi_addr.s_addr);
        }
      }
    }
    napi_value cb, global, argv[3], result;
    napi_get_reference_value(env, w->cb_ref, &cb);
    napi_get_global(env, &global);
    argv[0] = tn_bytes(env, buf, (size_t)r);
    argv[1] = tn_int(env, ifindex);
    argv[2] = tn_int(env, dst);
    napi_status st = napi_make_callback(env, w->actx, global, cb, 3, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

/* watch(fd, kind, callback) -> handle: the handle owns the fd from now on. */
static napi_value Watch(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (t != napi_function) {
    tn_throw(env, "EINVAL", "callback must be a function");
    return NULL;
  }
  watcher_t *w = (watcher_t *)calloc(1, sizeof *w);
  if (!w) {
    tn_throw(env, "ENOMEM", "out of memory");
    return NULL;
  }
  w->env = env;
  w->fd = tn_i32(env, argv[0]);
  w->kind = tn_i32(env, argv[1]);
  napi_create_reference(env, argv[2], 1, &w->cb_ref);
  napi_value name, res;
  napi_create_string_utf8(env, "HostnetWatcher", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &res);
  napi_async_init(env, res, name, &w->actx);
  if (tn_poll_start(env, &w->poll, &w->poll_inited, w->fd, w, on_watch_readable)) {
    w->finalized = 1; /* no JS handle will own it: freed as soon as its uv handle is closed */
    watcher_shutdown(w);
    if (w->handle_closed) free(w);
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, w, watcher_finalize, NULL, &handle) != napi_ok) {
    watcher_shutdown(w);
    return NULL;
  }
  return handle;
}

/* unwatch(handle): stop and close the socket. Idempotent. */
static napi_value Unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  watcher_t *w = get_watcher(env, argv[0]);
  if (!w) return NULL;
  watcher_shutdown(w);
  return tn_undef(env);
}

/* setRef(handle, on): whether the watcher keeps the event loop alive. */
static napi_value SetWatchRef(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  watcher_t *w = get_watcher(env, argv[0]);
  if (!w) return NULL;
  tn_poll_ref(&w->poll, w->poll_inited, w->closed, tn_bool(env, argv[1]));
  return tn_undef(env);
}

/* closeFd(fd) */
static napi_value CloseFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  if (fd >= 0) close(fd);
  return tn_undef(env);
}

/* ---------------------------------------------------------------- interfaces */

/* ifInfo(name) -> { index, mac: Uint8Array(6), flags, mtu } or null when it does not exist */
static napi_value IfInfo(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  char name[IFNAMSIZ];
  if (tn_ifname(env, argv[0], name)) return NULL;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    tn_throw_errno(env, errno, "socket(AF_INET, SOCK_DGRAM)");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    close(s);
    if (e == ENODEV) {
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;
    }
    tn_throw_errno(env, e, "SIOCGIFINDEX");
    return NULL;
  }
  int index = ifr.ifr_ifindex;
  uint8_t mac[6] = {0};
  if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0) memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  int flags = 0;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) flags = ifr.ifr_flags;
  int mtu = 0;
  if (ioctl(s, SIOCGIFMTU, &ifr) == 0) mtu = ifr.ifr_mtu;
  close(s);
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "index", tn_int(env, index));
  napi_set_named_property(env, out, "mac", tn_bytes(env, mac, 6));
  napi_set_named_property(env, out, "flags", tn_int(env, flags));
  napi_set_named_property(env, out, "mtu", tn_int(env, mtu));
  return out;
}

/* ---------------------------------------------------------------- CPU affinity */

/* threadCpus() -> the CPUs the calling thread may run on, ascending */
static napi_value ThreadCpus(napi_env env, napi_callback_info info) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) < 0) {
    tn_throw_errno(env, errno, "sched_getaffinity");
    return NULL;
  }
  napi_value out;
  napi_create_array(env, &out);
  uint32_t k = 0;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) napi_set_element(env, out, k++, tn_int(env, c));
  return out;
}

/* setThreadCpus(cpus): the calling thread (only it: pid 0) runs on these CPUs from now on */
static napi_value SetThreadCpus(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  bool is = false;
  napi_is_array(env, argv[0], &is);
  uint32_t n = 0;
  if (is) napi_get_array_length(env, argv[0], &n);
  if (!is || n == 0) {
    tn_throw(env, "EINVAL", "expected a non-empty array of CPU numbers");
    return NULL;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    double c = -1;
    napi_get_element(env, argv[0], i, &v);
    /* a number in range (NaN fails here, before any cast), and whole: napi_get_value_int32
     * would take 1.5 as CPU 1 */
    if (napi_get_value_double(env, v, &c) != napi_ok || !(c >= 0 && c < CPU_SETSIZE) || c != (double)(int)c) {
      tn_throw(env, "EINVAL", "a CPU number is an integer 0..1023");
      return NULL;
    }
    CPU_SET((int)c, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) < 0) {
    tn_throw_errno(env, errno, "sched_setaffinity");
    return NULL;
  }
  return tn_undef(env);
}

/* ---------------------------------------------------------------- module */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"openRawIp", NULL, OpenRawIp, NULL, NULL, NULL, napi_default, NULL},
    {"joinGroup", NULL, JoinGroup, NULL, NULL, NULL, napi_default, NULL},
    {"sendIp", NULL, SendIp, NULL, NULL, NULL, napi_default, NULL},
    {"openPacket", NULL, OpenPacket, NULL, NULL, NULL, napi_default, NULL},
    {"sendFrame", NULL, SendFrame, NULL, NULL, NULL, napi_default, NULL},
    {"openNetlink", NULL, OpenNetlink, NULL, NULL, NULL, napi_default, NULL},
    {"netlinkRequest", NULL, NetlinkRequest, NULL, NULL, NULL, napi_default, NULL},
    {"watch", NULL, Watch, NULL, NULL, NULL, napi_default, NULL},
    {"unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_default, NULL},
    {"setRef", NULL, SetWatchRef, NULL, NULL, NULL, napi_default, NULL},
    {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_default, NULL},
    {"ifInfo", NULL, IfInfo, NULL, NULL, NULL, napi_default, NULL},
    {"threadCpus", NULL, ThreadCpus, NULL, NULL, NULL, napi_default, NULL},
    {"setThreadCpus", NULL, SetThreadCpus, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
