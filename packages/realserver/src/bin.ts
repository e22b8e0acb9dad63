#!/usr/bin/env node
/**
 * tunvs-realserver: decapsulate LVS-TUN traffic (IPIP, GRE, GUE) in userspace on a real
 * server whose kernel has no ipip, gre or fou module. See the README for the set-up it expects.
 *
 *   tunvs-realserver --interface eth0 [--gue-port 6080] [--tun tunvs-rs0] [--vip 10.10.0.100 --setup]
 *                    [--any-dst] [--no-nft] [--pidfile FILE] [--quiet]
 *
 * Counters go to stdout as one JSON line on SIGUSR1 and at exit.
 */
import { rmSync, renameSync, writeFileSync } from 'node:fs';
import type { Link } from '@tunvs/link';
import { Decapsulator, decapCountersSnapshot } from './decap.js';
import { parseIpv4 } from '@tunvs/packet';
import { captureFilter, installNftRule, interfaceAddrs, nftTableName, prepareTun, removeNftRule, setupVip } from './system.js';
import { openCapture, openTunDevice } from './io.js';
import type { TunHandle } from './io.js';

/** Parsed command line of tunvs-realserver. */
interface Options {
  iface: string;
  tun: string;
  vips: string[];
  guePorts: number[];
  setup: boolean;
  anyDst: boolean;
  nft: boolean;
  pidfile: string;
  quiet: boolean;
}

const USAGE = `usage: tunvs-realserver --interface IF [--gue-port PORT]... [--tun NAME] [--vip ADDR]...
                        [--setup] [--any-dst] [--no-nft] [--pidfile FILE] [--quiet]
  --interface IF  the NIC the director's tunnel packets arrive on: IPIP (ip proto 4) and
                  GRE (ip proto 47) always, GUE on the --gue-port ports
  --gue-port PORT a UDP port the director sends GUE to (its --tun-port; repeatable)
  --tun NAME      TUN device the inner packets are written to (default tunvs-rs0)
  --vip ADDR      a virtual IP this server serves (repeatable); with --setup it is added
                  to lo and arp_ignore=1 / arp_announce=2 are set
  --setup         do the LVS-TUN real-server set-up for --vip (see README)
  --any-dst       accept IPIP whatever its outer destination (default: only IF's addresses)
  --no-nft        do not install the nftables rules dropping the tunnel packets on input
  --pidfile FILE  write the pid once ready, remove it at exit
  --quiet, -q     no progress lines on stdout (errors and the counters still print)
Counters: kill -USR1 <pid> prints them as one JSON line; also printed at exit.`;

function parseArgs(argv: string[]): Options {
  const o: Options = { iface: '', tun: 'tunvs-rs0', vips: [], guePorts: [], setup: false, anyDst: false, nft: true, pidfile: '', quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--interface' || a === '-i') o.iface = val();
    else if (a === '--tun') o.tun = val();
    else if (a === '--vip') o.vips.push(val());
    else if (a === '--gue-port') {
      const v = val();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new Error(`--gue-port ${v}: not a port (1..65535)`);
      o.guePorts.push(Number(v));
    }
    else if (a === '--setup') o.setup = true;
    else if (a === '--any-dst') o.anyDst = true;
    else if (a === '--no-nft') o.nft = false;
    else if (a === '--pidfile') o.pidfile = val();
    else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!o.iface) throw new Error('--interface is required');
  for (const v of o.vips) parseIpv4(v);
  if (o.setup && o.vips.length === 0) throw new Error('--setup needs at least one --vip');
  return o;
}

async function main(): Promise<void> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`tunvs-realserver: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const log = (s: string): void => {
    if (!opts.quiet) console.log(`tunvs-realserver: ${s}`);
  };

  let tun: TunHandle | null = null;
  let cap: Link | null = null;
  let nftInstalled = false;
  let done = false;
  const decap = new Decapsulator({ guePorts: opts.guePorts });
  const report = (): string => JSON.stringify({ interface: opts.iface, tun: opts.tun, ...decapCountersSnapshot(decap.counters) });

  const cleanup = (): void => {
    if (done) return;
    done = true;
    try {
      cap?.close();
    } catch {
      /* closing is best effort */
    }
    try {
      tun?.close();
    } catch {
      /* closing is best effort */
    }
    if (nftInstalled) removeNftRule(opts.iface);
    if (opts.pidfile) rmSync(opts.pidfile, { force: true });
  };
  const exit = (code: number): void => {
    cleanup();
    console.log(report());
    process.exit(code);
  };

  try {
    if (opts.setup) for (const v of opts.vips) setupVip(v, opts.iface);
    const local = interfaceAddrs(opts.iface);
    if (!opts.anyDst) {
      if (local.length === 0) throw new Error(`${opts.iface} has no IPv4 address (use --any-dst to accept any)`);
      decap.setLocalAddrs(local.map(parseIpv4));
    }
    tun = await openTunDevice(opts.tun);
    for (const c of prepareTun(opts.tun)) log(`sysctl ${c}`);
    if (opts.nft) {
      installNftRule(opts.iface, opts.guePorts);
      nftInstalled = true;
    }
    cap = await openCapture(opts.iface, captureFilter(opts.guePorts));
    decap.attach(cap, tun.link);
  } catch (e) {
    console.error(`tunvs-realserver: ${(e as Error).message}`);
    cleanup();
    process.exit(1);
  }

  process.on('SIGUSR1', () => console.log(report()));
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  process.on('SIGHUP', () => exit(0));
  process.on('uncaughtException', (e) => {
    console.error(`tunvs-realserver: ${e.stack ?? e.message}`);
    exit(1);
  });

  if (opts.pidfile) {
    writeFileSync(opts.pidfile + '.tmp', `${process.pid}\n`);
    renameSync(opts.pidfile + '.tmp', opts.pidfile);
  }
  log(
    `decapsulating IPIP, GRE${opts.guePorts.length > 0 ? `, GUE (UDP ${opts.guePorts.join(', ')})` : ''} from ${opts.iface} (${opts.anyDst ? 'any destination' : interfaceAddrs(opts.iface).join(', ')}) ` +
      `into ${opts.tun}${opts.nft ? `; nft table ip ${nftTableName(opts.iface)} drops them on input` : ''}; pid ${process.pid}`,
  );
}

void main();
