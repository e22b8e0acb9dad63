/* A stand-in for the kernel's IPVS socket options, so ipvsadm runs where ip_vs is absent
 * (tests only; preloaded into ipvsadm by packages/cli/tests/ipvsadm-golden.test.ts).
 * Gets: version/info (connection table size IPVS_SHIM_SIZE, default 4096), and optionally
 * one fwmark service with the rr scheduler and no real servers (IPVS_SHIM_FWMARK).
 * Sets: succeed, or fail with errno IPVS_SHIM_ERRNO. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>

#define BASE 1152
struct stats32 { uint32_t v[10]; };
struct svc_entry {
  uint16_t protocol; uint32_t addr; uint16_t port; uint32_t fwmark; char sched[16];
  uint32_t flags, timeout, netmask, num_dests; struct stats32 stats;
};
struct get_services { uint32_t n; uint32_t pad; struct svc_entry e[]; }; /* libipvs aligns the entries to 8 */

static unsigned long long shim_mark(void) {
  const char *m = getenv("IPVS_SHIM_FWMARK");
  return m ? strtoull(m, NULL, 10) : 0;
}

int getsockopt(int fd, int level, int opt, void *val, socklen_t *len) {
  static int (*real)(int, int, int, void *, socklen_t *);
  if (level == IPPROTO_IP && opt >= BASE && opt <= BASE + 8) {
    unsigned long long mark = shim_mark();
    if (opt == BASE + 4) return 0; /* dests: the request already says 0 */
    memset(val, 0, *len);
    if (opt == BASE) strncpy(val, "IP Virtual Server version 1.2.1 (size=4096)", *len);
    if (opt == BASE + 1) {
      const char *size = getenv("IPVS_SHIM_SIZE");
      uint32_t *u = val;
      u[0] = 0x010201;
      u[1] = size ? (uint32_t)strtoul(size, NULL, 10) : 4096;
      u[2] = mark ? 1 : 0;
    }
    if (opt == BASE + 2 && mark) {
      struct get_services *g = val;
      g->n = 1;
      g->e[0].protocol = IPPROTO_TCP;
      g->e[0].fwmark = (uint32_t)mark;
      strcpy(g->e[0].sched, "rr");
      g->e[0].netmask = 0xffffffff;
    }
    return 0;
  }
  if (!real) real = dlsym(RTLD_NEXT, "getsockopt");
  return real(fd, level, opt, val, len);
}

int setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
  static int (*real)(int, int, int, const void *, socklen_t);
  if (level == IPPROTO_IP && opt >= BASE && opt <= BASE + 15) {
    const char *e = getenv("IPVS_SHIM_ERRNO");
    if (e && atoi(e)) { errno = atoi(e); return -1; }
    return 0;
  }
  if (!real) real = dlsym(RTLD_NEXT, "setsockopt");
  return real(fd, level, opt, val, len);
}
