/*
 * UDP load generator for the tuntap benchmark: sends 64-byte IPv4 packets (20 IP + 8 UDP +
 * 36 payload) to DST:PORT as fast as it can with sendmmsg(2), batches of 64, for SECONDS.
 *
 *   gen DST PORT SECONDS
 *
 * Prints {"sent":N,"seconds":S}. Send errors (ENOBUFS when the TUN queue is full) are
 * counted, not fatal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PAYLOAD 36

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: gen DST PORT SECONDS\n");
    return 2;
  }
  double seconds = atof(argv[3]);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) {
    perror("socket");
    return 1;
  }
  int small = 4096;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_in dst;
  memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  if (connect(s, (struct sockaddr *)&dst, sizeof dst) < 0) {
    perror("connect");
    return 1;
  }
  static uint8_t payload[BATCH][PAYLOAD];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    memset(payload[i], 'x', PAYLOAD);
    iov[i].iov_base = payload[i];
    iov[i].iov_len = PAYLOAD;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t sent = 0, errors = 0;
  double start = now(), end = start + seconds;
  unsigned iter = 0;
  for (;;) {
    if ((iter++ & 63) == 0 && now() >= end) break;
    int n = sendmmsg(s, msgs, BATCH, 0);
    if (n > 0)
      sent += (uint64_t)n;
    else
      errors++;
  }
  printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.6f}\n", (unsigned long long)sent, (unsigned long long)errors,
         now() - start);
  return 0;
}
