/**
 * tunvsd: opens the device named in the configuration, runs a Director on it, applies the
 * configured rules, and serves the control socket that tunvsadm speaks.
 *
 *   SIGHUP   re-read the configuration and apply the difference (a bad file is reported
 *            and the running rules are kept)
 *   SIGTERM  close the socket and the device, exit 0
 *
 * Logs are JSON lines on stderr: { ts, level, msg, ... }.
 */
import type { Server } from 'node:net';
import { Director } from '@tunvs/engine';
import { openTap, openTun } from '@tunvs/tuntap';
import type { TunTapDevice } from '@tunvs/tuntap';
import { parseCidr, parseMac, formatIpv4 } from '@tunvs/packet';
import { serveControl, socketPath } from '@tunvs/cli';
import { markRules, ConfigError } from './config.js';
import type { DaemonConfig } from './config.js';
import { loadSetup } from './sources.js';
import type { DaemonSetup } from './sources.js';
import { ServiceRunner } from './health.js';
import { DaemonVrrp } from './vrrp-runtime.js';
import { Observability } from './http.js';
import type { HttpConfig } from '@tunvs/console';
import { PluginSchedulers } from './plugins.js';

export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Structured log lines on stderr. */
export const jsonLogger: Logger = (level, msg, fields = {}) => {
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }) + '\n');
};

export interface RunningDaemon {
  director: Director;
  device: TunTapDevice;
  server: Server;
  config: DaemonConfig;
  /** the services and health checking of the running configuration */
  services: ServiceRunner;
  /** VRRP instances of the keepalived.conf (vrrp-runtime.ts) */
  vrrp: DaemonVrrp;
  /** metrics, the HTTP server, and the feeds the VRRP/sync runtimes register with */
  observability: Observability;
  /** re-read the configuration file and apply the difference (loading new scheduler plug-ins first) */
  reload(): Promise<boolean>;
  /** stop everything */
  stop(): Promise<void>;
}

/** Start tunvsd with the configuration file `path`. */
export async function startDaemon(path: string, opts: { socket?: string; log?: Logger; http?: HttpConfig } = {}): Promise<RunningDaemon> {
  const log = opts.log ?? jsonLogger;
  const setup: DaemonSetup = loadSetup(path);
  const plugins = new PluginSchedulers(log);
  setup.config = await plugins.resolve(setup.config);
  let config = setup.config;
  // --http (the command line) wins over the configuration's http server
  if (opts.http) config.http = opts.http;
  for (const w of setup.warnings) log('warn', 'configuration warning', { message: w });
  const dev = config.device;
  const devOpts = { name: dev.name, queues: dev.queues, vnetHdr: dev.vnetHdr, ...(dev.mtu ? { mtu: dev.mtu } : {}) };
  const device = dev.kind === 'tap' ? openTap(devOpts) : openTun(devOpts);
  const obs = new Observability(log);
  log('info', 'device opened', { device: device.name, kind: device.kind, queues: device.queues.length, vnetHdrLen: device.vnetHdrLen });
  const director = new Director({
    links: device.queues,
    ...(dev.kind === 'tap' ? { mac: parseMac(dev.mac) } : {}),
    addresses: dev.addresses.map((a) => {
      const c = parseCidr(a);
      return { addr: formatIpv4(c.addr), prefix: c.prefix };
    }),
    ...(dev.gateway ? { gateway: dev.gateway } : {}),
    ...(config.sourceAddress ? { sourceAddress: config.sourceAddress } : {}),
    connCapacity: config.connCapacity ?? 262144,
    conntrack: {
      ...(config.expireNodestConn !== undefined ? { expireNodestConn: config.expireNodestConn } : {}),
      ...(config.expireQuiescentTemplate !== undefined ? { expireQuiescentTemplate: config.expireQuiescentTemplate } : {}),
      ...(config.connReuseMode !== undefined ? { connReuseMode: config.connReuseMode } : {}),
    },
    marks: markRules(config.marks),
    onEvent: (ev) => {
      log('info', ev.type, { ...ev });
      obs.onDirectorEvent(ev);
    },
  });
  if (config.timeouts) director.setTimeouts(config.timeouts);
  director.start();
  // VRRP before the services: on a TAP device its VIPs must be silent before a virtual
  // service using them would announce them
  const vrrp = new DaemonVrrp({ log, ...(device.kind === 'tun' ? { tunDevice: device.name } : { tap: { director, device: device.name, addresses: dev.addresses } }) });
  obs.feeds.setVrrp(vrrp.source());
  try {
    await vrrp.apply(setup.keepalived);
  } catch (e) {
    director.stop();
    throw new ConfigError((e as Error).message);
  }
  const services = new ServiceRunner(director, log, obs.healthOptions);
  let applied;
  try {
    applied = services.apply(config.services, setup.keepalived);
  } catch (e) {
    services.stop();
    await vrrp.stop();
    director.stop();
    throw e;
  }
  log('info', 'configuration applied', { file: path, kind: setup.kind, keepalived: config.keepalivedConf ?? null, changes: applied.length });
  const sock = socketPath(opts.socket ?? config.socket);
  const server = serveControl(director, sock, vrrp.ops());
  await new Promise<void>((res, rej) => {
    server.once('listening', () => res());
    server.once('error', rej);
  });
  log('info', 'control socket ready', { socket: sock });

  const d: RunningDaemon = {
    director,
    device,
    server,
    config,
    services,
    vrrp,
    observability: obs,
    async reload(): Promise<boolean> {
      let nextSetup: DaemonSetup;
      try {
        nextSetup = loadSetup(path);
        nextSetup.config = await plugins.resolve(nextSetup.config);
      } catch (e) {
        const errors = (e as Error).message.split('\n');
        log('error', 'reload failed, keeping the running configuration', { error: errors[0], errors });
        return false;
      }
      const next = nextSetup.config;
      for (const w of nextSetup.warnings) log('warn', 'configuration warning', { message: w });
      try {
        director.marks.set(markRules(next.marks));
        if (next.timeouts) director.setTimeouts(next.timeouts);
        // VRRP first (its synchronous part silences new TAP VIPs before services announce them)
        vrrp.apply(nextSetup.keepalived).catch((e: Error) => log('error', 'vrrp: reload refused, the VRRP instances keep running as they were', { errors: e.message.split('\n') }));
        const changes = services.apply(next.services, nextSetup.keepalived);
        log('info', 'configuration reloaded', { file: path, changes });
        config = next;
        d.config = next;
        return true;
      } catch (e) {
        log('error', 'reload failed while applying; rules may be partly applied', { error: (e as Error).message });
        return false;
      }
    },
    async stop(): Promise<void> {
      await vrrp.stop();
      await obs.stop();
      services.stop();
      await new Promise<void>((res) => server.close(() => res()));
      director.stop();
      log('info', 'stopped', {});
    },
  };
  await obs.start(d, path, setup.kind);
  return d;
}
