/*
 * The c-tun anchor of the e2e benchmark: the smallest NAT director a C programmer would
 * write on a TUN device. For every packet: read(2); if it is IPv4 UDP to VIP:PORT, pick a
 * real server by the source port's low bit, rewrite the destination address with RFC 1624
 * incremental IP and UDP checksum updates, write(2) it back (the kernel then routes it to
 * the real server). Anything else is dropped. One packet per syscall, blocking I/O.
 *
 *   nat-forward IFNAME VIP PORT RS1 RS2 SECONDS
 *
 * Prints {"ready":true} once attached, then after SECONDS (or SIGTERM)
 * {"packets":N,"dropped":D,"seconds":S} and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* one's complement sum update: replace 16-bit word `old` by `new` in checksum `sum` */
static uint16_t csum_replace(uint16_t sum, uint16_t old, uint16_t new_) {
  uint32_t s = (uint16_t)~sum + (uint16_t)~old + new_;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: nat-forward IFNAME VIP PORT RS1 RS2 SECONDS\n");
    return 2;
  }
  struct in_addr vip, rs[2];
  if (!inet_pton(AF_INET, argv[2], &vip) || !inet_pton(AF_INET, argv[4], &rs[0]) || !inet_pton(AF_INET, argv[5], &rs[1])) {
    fprintf(stderr, "bad address\n");
    return 2;
  }
  uint16_t port = (uint16_t)atoi(argv[3]);
  int seconds = atoi(argv[6]);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/net/tun");
    return 1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    perror("TUNSETIFF");
    return 1;
  }
  /* no offloads: the kernel must hand us packets with complete checksums (a previous user
     of the device may have enabled them) */
  if (ioctl(fd, TUNSETOFFLOAD, 0) < 0) perror("TUNSETOFFLOAD");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: read() returns EINTR */
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  alarm((unsigned)seconds);
  printf("{\"ready\":true}\n");
  fflush(stdout);

  const uint8_t *v = (const uint8_t *)&vip.s_addr;
  static uint8_t buf[65536];
  uint64_t packets = 0, dropped = 0;
  double start = now();
  while (!stop) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("read");
      return 1;
    }
    if (n < 28 || buf[0] >> 4 != 4 || buf[9] != 17 || memcmp(buf + 16, v, 4) != 0) {
      dropped++;
      continue;
    }
    size_t ihl = (size_t)(buf[0] & 15) * 4;
    if ((size_t)n < ihl + 8 || rd16(buf + ihl + 2) != port) {
      dropped++;
      continue;
    }
    const uint8_t *to = (const uint8_t *)&rs[rd16(buf + ihl) & 1].s_addr;
    uint16_t ipsum = rd16(buf + 10), udpsum = rd16(buf + ihl + 6);
    for (int i = 0; i < 4; i += 2) {
      uint16_t o = rd16(buf + 16 + i), w = rd16(to + i);
      ipsum = csum_replace(ipsum, o, w);
      if (udpsum != 0) udpsum = csum_replace(udpsum, o, w);
      wr16(buf + 16 + i, w);
    }
    wr16(buf + 10, ipsum);
    if (udpsum != 0) wr16(buf + ihl + 6, udpsum == 0 ? 0xffff : udpsum);
    if (write(fd, buf, (size_t)n) == n)
      packets++;
    else
      dropped++;
  }
  printf("{\"packets\":%llu,\"dropped\":%llu,\"seconds\":%.6f}\n", (unsigned long long)packets,
         (unsigned long long)dropped, now() - start);
  return 0;
}
