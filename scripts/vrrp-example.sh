#!/bin/bash
# Two tunvs directors sharing a VIP by VRRP (the README's "VRRP failover" example), in
# network namespaces: run it as root after `npm run build`.
#
#   scripts/vrrp-example.sh        build the segment, start both directors, curl the VIP,
#                                  crash the master (SIGKILL), curl again, restart it
#                                  (it preempts), curl again, then remove everything
#   scripts/vrrp-example.sh keep   the same, but leave it running (remove with `down`)
#   scripts/vrrp-example.sh down   remove what `keep` left
#
# Namespaces are named ${VRX_PREFIX:-vrx-}sw, -c (client 10.99.0.50), -rs (real server
# 10.99.0.30, VIP on lo), -d1 and -d2 (directors 10.99.0.21 and .22 on TAP devices bridged
# to their eth0; the hosts themselves are .11 and .12, where the health checks start). The VIP 10.99.0.100:8080 is LVS-DR to the real server.
set -euo pipefail
P=${VRX_PREFIX:-vrx-}
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
WORK=/run/${P}vrrp-example   # root-owned path: keepalived's script security accepts it
VIP=10.99.0.100

down() {
  for d in d1 d2 rs; do
    [ -f "$WORK/$d.pid" ] && kill "$(cat "$WORK/$d.pid")" 2>/dev/null || true
  done
  sleep 0.3
  for n in d1 d2 rs c sw; do ip netns del "$P$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}

if [ "${1:-}" = down ]; then down; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ "${1:-}" = keep ] || trap down EXIT
down
mkdir -p "$WORK"

# the segment and its hosts
ip netns add "${P}sw"
ip -n "${P}sw" link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0
ip -n "${P}sw" link set br0 up
plug() { # namespace, address (empty: none)
  ip netns add "$P$1"
  ip -n "$P$1" link add eth0 type veth peer name "$1" netns "${P}sw"
  ip -n "${P}sw" link set "$1" master br0 up
  [ -n "$2" ] && ip -n "$P$1" addr add "$2/24" dev eth0
  ip -n "$P$1" link set eth0 up
  ip -n "$P$1" link set lo up
}
plug c 10.99.0.50
plug rs 10.99.0.30
ip -n "${P}rs" addr add $VIP/32 dev lo
ip netns exec "${P}rs" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
ip netns exec "${P}rs" node -e "require('http').createServer((q,s)=>s.end('rs: hello through the VIP\n')).listen(8080)" &
echo $! > "$WORK/rs.pid"

# a director: its TAP device bridged to its eth0; tunvsd owns the VIP in userspace
director() { # name, address, mac, priority, host address
  plug "$1" ""
  ip -n "$P$1" link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0
  ip -n "$P$1" addr add "$5/24" dev br0       # the host's own: health checks start here
  ip -n "$P$1" tuntap add dev tv0 mode tap     # exists before tunvsd: keepalived.conf names it
  ip -n "$P$1" link set eth0 master br0
  ip -n "$P$1" link set tv0 master br0
  ip -n "$P$1" link set br0 up
  ip -n "$P$1" link set tv0 up
  mkdir -p "$WORK/$1"
  cat > "$WORK/$1/tunvsd.conf" <<EOF
keepalived_conf keepalived.conf
device tv0
mode tap
address $2/24
mac $3
control_socket $WORK/$1/tunvsd.sock
EOF
  cat > "$WORK/$1/keepalived.conf" <<EOF
global_defs {
    enable_script_security
    script_user root
}

vrrp_instance VI_1 {
    state BACKUP
    interface tv0
    virtual_router_id 51
    priority $4
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass tunvs
    }
    virtual_ipaddress {
        $VIP/24
    }
    notify $WORK/$1/notify.sh
}

virtual_server $VIP 8080 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.99.0.30 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
EOF
  printf '#!/bin/sh\necho "$(date +%%T.%%N) $*" >> %s\n' "$WORK/$1/notify.log" > "$WORK/$1/notify.sh"
  chmod 755 "$WORK/$1/notify.sh"
  ip netns exec "$P$1" node "$ROOT/packages/daemon/dist/bin/tunvsd.js" --config-test -f "$WORK/$1/tunvsd.conf"
  ip netns exec "$P$1" node "$ROOT/packages/daemon/dist/bin/tunvsd.js" -f "$WORK/$1/tunvsd.conf" 2> "$WORK/$1/tunvsd.log" &
  echo $! > "$WORK/$1.pid"
}

status() { # director
  ip netns exec "$P$1" node "$ROOT/packages/daemon/dist/bin/tunvsd.js" --vrrp-status --socket "$WORK/$1/tunvsd.sock" 2>/dev/null \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{if(!s)return console.log("down");const i=JSON.parse(s).instances[0];console.log(`${i.state} priority ${i.priority.effective} master ${i.master?.address ?? "-"}`)})' \
    || true
}
show() {
  for d in d1 d2; do echo "  $d: $(status $d)"; done
  echo "  curl: $(ip netns exec "${P}c" curl -s -m 1 http://$VIP:8080/ || echo 'no answer')"
}
wait_state() { # director, state, seconds
  for _ in $(seq $(($3 * 10))); do
    case "$(status "$1")" in "$2"*) return 0;; esac
    sleep 0.1
  done
  echo "$1 did not become $2" >&2; return 1
}

director d1 10.99.0.21 02:99:00:00:01:21 150 10.99.0.11
director d2 10.99.0.22 02:99:00:00:01:22 100 10.99.0.12
wait_state d1 MASTER 10 && wait_state d2 BACKUP 10
echo "both directors up:"; show

kill -9 "$(cat "$WORK/d1.pid")"; wait "$(cat "$WORK/d1.pid")" 2>/dev/null || true
t0=$(date +%s%N)
wait_state d2 MASTER 10
echo "d1 crashed (SIGKILL); d2 MASTER after $(( ($(date +%s%N) - t0) / 1000000 )) ms:"; show

ip netns exec "${P}d1" node "$ROOT/packages/daemon/dist/bin/tunvsd.js" -f "$WORK/d1/tunvsd.conf" 2>> "$WORK/d1/tunvsd.log" &
echo $! > "$WORK/d1.pid"
wait_state d1 MASTER 10 && wait_state d2 BACKUP 10
echo "d1 restarted and preempted:"; show
echo "notify calls on d2:"; sed 's/^/  /' "$WORK/d2/notify.log"
echo "transitions logged by d2:"
grep '"vrrp transition"' "$WORK/d2/tunvsd.log" | sed 's/^/  /'
