/*
 * The reference forwarder for the tuntap benchmark: attach to a TUN device, then for every
 * packet: read(2), swap IPv4 source/destination and UDP ports, write(2) it back. Plain
 * blocking I/O, one packet per syscall: what a minimal C program does.
 *
 *   forward IFNAME SECONDS
 *
 * Prints {"ready":true} once attached, then, SECONDS after the first packet,
 * {"packets":N,"seconds":S} and exits.
 */
#define _GNU_SOURCE
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

static void on_alarm(int sig) {
  (void)sig;
  stop = 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: forward IFNAME SECONDS\n");
    return 2;
  }
  int seconds = atoi(argv[2]);
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
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: read() returns EINTR */
  sigaction(SIGALRM, &sa, NULL);
  printf("{\"ready\":true}\n");
  fflush(stdout);

  static uint8_t buf[65536];
  uint64_t packets = 0;
  double start = 0;
  while (!stop) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("read");
      return 1;
    }
    if (packets == 0 && start == 0) {
      start = now();
      alarm((unsigned)seconds);
    }
    if (n < 28 || (buf[0] >> 4) != 4) continue;
    size_t ihl = (size_t)(buf[0] & 15) * 4;
    for (int i = 0; i < 4; i++) {
      uint8_t t = buf[12 + i];
      buf[12 + i] = buf[16 + i];
      buf[16 + i] = t;
    }
    if (buf[9] == 17 && (size_t)n >= ihl + 8) {
      for (int i = 0; i < 2; i++) {
        uint8_t t = buf[ihl + i];
        buf[ihl + i] = buf[ihl + 2 + i];
        buf[ihl + 2 + i] = t;
      }
    }
    if (write(fd, buf, (size_t)n) == n) packets++;
  }
  printf("{\"packets\":%llu,\"seconds\":%.6f}\n", (unsigned long long)packets, now() - start);
  return 0;
}
