#!/usr/bin/env bash
# Installs the Debian packages tunvs needs, only those missing (run as root).
#   libpcap-dev     headers for the `cap` package (the pcap Link)
#   iproute2 ...    namespaces, veth, bridges for the lab and netns tests
#   tcpdump tshark  captures and a third-party dissector for wire checks
#   nginx curl      real servers and clients in the lab
#   hping3          SYN floods and odd packets in the robustness tests
#   keepalived      the judge for keepalived.conf (--config-test) and a VRRP peer
#   wrk iperf3 haproxy nftables   end-to-end benchmark anchors
#   chromium        the console's browser tests (playwright-core drives it headless)
#   prometheus      promtool check metrics, and a real scrape in the netns test
#   exim4-daemon-light dnsmasq frr  real peers for SMTP_CHECK, DNS_CHECK and BFD_CHECK tests
#   ipvsadm gcc libc6-dev  the real ipvsadm, run with a compiled stand-in for the kernel's
#                   socket options (packages/cli/tests/ipvsadm-shim) in tunvsadm's golden tests
#   ethtool         turns off TX checksum offload on veth peers of an AF_XDP/AF_PACKET link
#                   (@tunvs/xdp needs no libbpf or clang: it assembles its own XDP program)
set -euo pipefail
PKGS=(libpcap-dev iproute2 iputils-ping tcpdump tshark nginx curl hping3 keepalived
      wrk iperf3 haproxy nftables procps psmisc chromium prometheus exim4-daemon-light dnsmasq frr
      ethtool ipvsadm gcc libc6-dev vsftpd)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all Debian packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bootstrap: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services must not start on the host: the lab starts its own copies.
for s in nginx haproxy keepalived exim4 dnsmasq frr vsftpd; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$s" >/dev/null 2>&1 || true; fi
  if [ -x "/etc/init.d/$s" ]; then "/etc/init.d/$s" stop >/dev/null 2>&1 || true; fi
done
for p in nginx haproxy keepalived exim4 dnsmasq watchfrr zebra bfdd staticd mgmtd vsftpd; do
  pkill -x "$p" 2>/dev/null || true
done
echo "bootstrap: done"
