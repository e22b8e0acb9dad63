/*
 * netdev.c: what @tunvs/xdp asks about an interface before it attaches to it: index, MTU,
 * hardware address, up or down, the driver's name and its number of queues (ethtool), and
 * the IPv4 addresses the host has on it (getifaddrs). All calls act in the network
 * namespace of the calling thread.
 */
#define _GNU_SOURCE
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ifreq_ioctl(int s, unsigned long req, struct ifreq *ifr) { return ioctl(s, req, ifr); }

/* Count /sys/class/net/NAME/queues/<prefix>* (the kernel's real queue count). */
static int count_sysfs_queues(const char *name, const char *prefix) {
  char path[96];
  snprintf(path, sizeof path, "/sys/class/net/%s/queues", name);
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
  closedir(d);
  return n;
}

/*
 * ifInfo(name) -> { ifindex, mtu, mac: Uint8Array(6), up, driver, rxQueues, txQueues,
 *                   maxRxQueues, channelsFrom }  or throws (ENODEV when missing)
 */
TN_FN(IfInfo) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  char name[IFNAMSIZ];
  if (tn_string(env, argv[0], name, sizeof name, "interface name")) return NULL;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    tn_throw_errno(env, errno, "socket");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ifreq_ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    close(s);
    tn_throw_errno(env, e, "SIOCGIFINDEX");
    return NULL;
  }
  int ifindex = ifr.ifr_ifindex;
  int mtu = ifreq_ioctl(s, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 0;
  int flags = ifreq_ioctl(s, SIOCGIFFLAGS, &ifr) == 0 ? (unsigned short)ifr.ifr_flags : 0;
  uint8_t mac[6] = {0};
  int hwtype = -1;
  if (ifreq_ioctl(s, SIOCGIFHWADDR, &ifr) == 0) {
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    hwtype = ifr.ifr_hwaddr.sa_family;
  }
  struct ethtool_drvinfo drv;
  memset(&drv, 0, sizeof drv);
  drv.cmd = ETHTOOL_GDRVINFO;
  ifr.ifr_data = (void *)&drv;
  bool have_drv = ifreq_ioctl(s, SIOCETHTOOL, &ifr) == 0;
  struct ethtool_channels ch;
  memset(&ch, 0, sizeof ch);
  ch.cmd = ETHTOOL_GCHANNELS;
  ifr.ifr_data = (void *)&ch;
  bool have_ch = ifreq_ioctl(s, SIOCETHTOOL, &ifr) == 0;
  close(s);

  int rxq, txq, maxrx;
  const char *from;
  int sys_rx = count_sysfs_queues(name, "rx-"), sys_tx = count_sysfs_queues(name, "tx-");
  if (sys_rx > 0) {
    /* the kernel's own count of RX queues (queue ids AF_XDP can bind to) */
    rxq = sys_rx;
    txq = sys_tx;
    maxrx = have_ch ? (int)(ch.max_rx > ch.max_combined ? ch.max_rx : ch.max_combined) : sys_rx;
    from = "sysfs";
  } else if (have_ch) {
    rxq = (int)(ch.rx_count > ch.combined_count ? ch.rx_count : ch.combined_count);
    txq = (int)(ch.tx_count > ch.combined_count ? ch.tx_count : ch.combined_count);
    maxrx = (int)(ch.max_rx > ch.max_combined ? ch.max_rx : ch.max_combined);
    from = "ethtool";
  } else {
    rxq = txq = maxrx = 1;
    from = "default";
  }
  if (maxrx < rxq) maxrx = rxq;

  napi_value out, macv, ab;
  void *data;
  napi_create_object(env, &out);
  tn_set_int(env, out, "ifindex", ifindex);
  tn_set_int(env, out, "mtu", mtu);
  tn_set_bool(env, out, "up", (flags & IFF_UP) != 0);
  tn_set_bool(env, out, "loopback", (flags & IFF_LOOPBACK) != 0);
  tn_set_int(env, out, "hwType", hwtype);
  napi_create_arraybuffer(env, 6, &data, &ab);
  memcpy(data, mac, 6);
  napi_create_typedarray(env, napi_uint8_array, 6, ab, 0, &macv);
  napi_set_named_property(env, out, "mac", macv);
  tn_set_str(env, out, "driver", have_drv ? drv.driver : "");
  tn_set_int(env, out, "rxQueues", rxq);
  tn_set_int(env, out, "txQueues", txq);
  tn_set_int(env, out, "maxRxQueues", maxrx);
  tn_set_str(env, out, "queuesFrom", from);
  return out;
}

/* hostAddresses(name) -> number[] (IPv4 addresses on the interface, host order) */
TN_FN(HostAddresses) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  char name[IFNAMSIZ];
  if (tn_string(env, argv[0], name, sizeof name, "interface name")) return NULL;
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) < 0) {
    tn_throw_errno(env, errno, "getifaddrs");
    return NULL;
  }
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (struct ifaddrs *a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_name) continue;
    /* aliases are reported as "name:label" */
    size_t l = strlen(name);
    if (strncmp(a->ifa_name, name, l) != 0 || (a->ifa_name[l] != 0 && a->ifa_name[l] != ':')) continue;
    uint32_t addr = ntohl(((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr);
    napi_value v;
    napi_create_uint32(env, addr, &v);
    napi_set_element(env, arr, n++, v);
  }
  freeifaddrs(list);
  return arr;
}

void xd_netdev_init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {TN_PROP("ifInfo", IfInfo), TN_PROP("hostAddresses", HostAddresses)};
  napi_define_properties(env, exports, sizeof p / sizeof p[0], p);
}
