#!/usr/bin/env node
// tunvsd: the tunvs director daemon. Usage: tunvsd -f CONFIG [--socket PATH]
import { readFileSync } from 'node:fs';
import { importLvsCf } from '@tunvs/healthcheck';
import { ControlClient, SocketInUseError, socketPath } from '@tunvs/cli';
import { startDaemon, jsonLogger } from '../daemon.js';
import { ConfigError } from '../config.js';
import { LOAD_DEFAULTS } from '../loader.js';
import { checkConfigPlugins, runTunvsdConfigTest } from '../sources.js';
import { HttpOptions } from '../http-config.js';

const USAGE = `Usage: tunvsd -f CONFIG [--socket PATH] [--reload-timeout S] [--config-test]
       tunvsd --import-lvs-cf LVS.CF [--router primary|backup]
       tunvsd --vrrp-status [--socket PATH]

  -f, --config FILE     configuration: JSON (// comments allowed), a tunvsd.conf
                        (keepalived_conf PATH, device, mode, address, ...) or a keepalived.conf
  --socket PATH         control socket (default /run/tunvs/tunvsd.sock, or $TUNVS_SOCKET)
  --reload-timeout S    give up reading the configuration after S seconds (default ${LOAD_DEFAULTS.timeoutMs / 1000});
                        the running rules are kept
  -t, --config-test     check the configuration and exit (0: the daemon starts with it and
                        applies all of it; file:line messages)
  --http HOST:PORT      serve /metrics, the status API and the web console there
                        (any configuration form; the way to enable them with a keepalived.conf)
  --http-password-file F  console users (user:hash lines, see tunvs-console passwd)
  --http-token-file F   API tokens (see tunvs-console token)
  --http-metrics-only   serve /metrics only (no console, no login needed)
  --import-lvs-cf FILE [--router primary|backup]
                        print the keepalived.conf equivalent of a Piranha lvs.cf (the
                        redundancy settings become a vrrp_instance for this router; default:
                        the role whose lvs.cf address this host has)
  --vrrp-status         print the running tunvsd's VRRP state (JSON) and exit
  -h, --help            this text
`;

async function main(argv: string[]): Promise<number> {
  let file = '';
  let socket: string | undefined;
  let test = false;
  let timeoutMs: number | undefined;
  const httpOpts = new HttpOptions();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let used: number;
    try {
      used = httpOpts.take(argv, i);
    } catch (e) {
      process.stderr.write(`tunvsd: ${(e as Error).message}\n`);
      return 2;
    }
    if (used > 0) i += used - 1;
    else if (a === '-f' || a === '--config') file = argv[++i] ?? '';
    else if (a === '--socket') socket = argv[++i];
    else if (a === '--reload-timeout') {
      const v = argv[++i] ?? '';
      if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || !(Number(v) > 0)) {
        process.stderr.write(`tunvsd: --reload-timeout needs a number of seconds, not '${v}'\n`);
        return 2;
      }
      timeoutMs = Number(v) * 1000;
    }
    else if (a === '--config-test' || a === '-t') test = true;
    else if (a === '--import-lvs-cf') {
      const f = argv[++i];
      if (!f) {
        process.stderr.write(`tunvsd: --import-lvs-cf needs a file\n`);
        return 2;
      }
      const ri = argv.indexOf('--router');
      const role = ri >= 0 ? argv[ri + 1] : undefined;
      if (role !== undefined && role !== 'primary' && role !== 'backup') {
        process.stderr.write(`tunvsd: --router must be primary or backup, not '${role}'\n`);
        return 2;
      }
      try {
        process.stdout.write(importLvsCf(readFileSync(f, 'utf8'), { ...(role ? { role } : {}), warn: (m) => process.stderr.write(`tunvsd: ${f}: ${m}\n`) }));
        return 0;
      } catch (e) {
        process.stderr.write(`tunvsd: ${f}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    else if (a === '--vrrp-status') return vrrpStatus(socket ?? (argv.includes('--socket') ? argv[argv.indexOf('--socket') + 1] : undefined));
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`tunvsd: unknown option '${a}'\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    process.stderr.write(`tunvsd: a configuration file is required (-f FILE)\n${USAGE}`);
    return 2;
  }
  let http;
  try {
    http = httpOpts.config();
  } catch (e) {
    process.stderr.write(`tunvsd: ${(e as Error).message}\n`);
    return 2;
  }
  if (test) {
    const code = runTunvsdConfigTest(file, undefined, http ? { http } : {});
    // a plug-in scheduler is loaded and put through the shared rules, as the start does
    return code !== 0 ? code : checkConfigPlugins(file);
  }
  let d;
  try {
    d = await startDaemon(file, { ...(socket ? { socket } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(http ? { http } : {}) });
  } catch (e) {
    const errors = (e as Error).message.split('\n');
    jsonLogger('error', e instanceof SocketInUseError ? 'start refused: the control socket is in use' : 'start failed', {
      error: errors[0],
      ...(errors.length > 1 ? { errors } : {}),
      config: e instanceof ConfigError,
    });
    return 1;
  }
  process.on('SIGHUP', () => void d.reload());
  // SIGUSR1: log every counter (drops by reason, connection table, neighbours, links)
  process.on('SIGUSR1', () => jsonLogger('info', 'stats', d.director.stats()));
  const shutdown = (): void => {
    void d.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return -1; // keep running
}

/** `tunvsd --vrrp-status [--socket PATH]`: the control socket's vrrpStatus, as JSON. */
async function vrrpStatus(sock: string | undefined): Promise<number> {
  try {
    const c = await ControlClient.connect(socketPath(sock));
    const r = await c.call('vrrpStatus');
    c.close();
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`tunvsd: --vrrp-status: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
});
