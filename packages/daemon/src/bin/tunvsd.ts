#!/usr/bin/env node
// tunvsd: the tunvs director daemon. Usage: tunvsd -f CONFIG [--socket PATH]
import { startDaemon, jsonLogger } from '../daemon.js';
import { loadConfig, ConfigError } from '../config.js';

const USAGE = `Usage: tunvsd -f CONFIG [--socket PATH] [--config-test]

  -f, --config FILE   tunvsd configuration (JSON, // comments allowed)
  --socket PATH       control socket (default /run/tunvs/tunvsd.sock, or $TUNVS_SOCKET)
  --config-test       check the configuration and exit (0 when valid)
  -h, --help          this text
`;

async function main(argv: string[]): Promise<number> {
  let file = '';
  let socket: string | undefined;
  let test = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f' || a === '--config') file = argv[++i] ?? '';
    else if (a === '--socket') socket = argv[++i];
    else if (a === '--config-test' || a === '-t') test = true;
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
  if (test) {
    try {
      loadConfig(file);
      return 0;
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      return 1;
    }
  }
  let d;
  try {
    d = await startDaemon(file, socket ? { socket } : {});
  } catch (e) {
    jsonLogger('error', 'start failed', { error: (e as Error).message, config: e instanceof ConfigError });
    return 1;
  }
  process.on('SIGHUP', () => d.reload());
  const shutdown = (): void => {
    void d.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return -1; // keep running
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
});
