/**
 * The `tunvs-sched` command line: `tunvs-sched replay [--capacity N] TRACE|-`.
 * Streams the trace line by line (files of any size), writes decisions to stdout and
 * reports the first malformed line on stderr as `tunvs-sched: TRACE:LINE: message`.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ReplayError, Replayer, formatDecision } from './replay.js';

/** Usage text of `tunvs-sched --help`. */
export const USAGE = `Usage: tunvs-sched replay [--capacity N] [--plugin MODULE]... TRACE
       tunvs-sched --help

Replays a JSON-lines trace (TRACE, or - for stdin) through a real IPVS scheduler with
the real connection table, and prints one JSON line per connect:
  {"n":K,"dest":"10.0.1.1:80"}   or   {"n":K,"dest":null}

Trace lines (one JSON object each):
  {"op":"service","scheduler":"wlc","proto":"tcp","vip":"10.0.0.100","port":80,
   "flags":["sh-port"],"persistence":0,"netmask":"255.255.255.255"}   (or "fwmark":N)
  {"op":"add","dest":"10.0.1.1:80","weight":1,"upper":0,"lower":0}
  {"op":"edit","dest":"10.0.1.1:80","weight":3}
  {"op":"del","dest":"10.0.1.1:80"}
  {"op":"connect","client":"192.0.2.7:40001","to":"203.0.113.9:80","proto":"tcp"}
  {"op":"packet","n":K,"flags":"A","reply":false}   one more packet of connection K
  {"op":"close","n":K}       connection K goes to TIME_WAIT ("rst":true: CLOSE)
  {"op":"expire","n":K}      connection K is removed
  {"op":"advance","seconds":60}

Options:
  --capacity N      connection table size (connections + templates), default 262144
  --plugin MODULE   load a plug-in scheduler first, so the trace's service can name it
                    (tunvs-sched takes it before handing over; repeatable)
  -h, --help        show this help

Exit status: 0 done, 1 malformed trace line or unreadable file, 2 usage error.
`;

/** Where the command line writes, and how it reads stdin (injectable for tests). */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdin?: Readable;
}

/** Run `tunvs-sched` with `argv` (without node and the script); resolves to the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    io.stderr(USAGE);
    return 2;
  }
  if (argv[0] === '-h' || argv[0] === '--help' || argv[0] === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (argv[0] !== 'replay') {
    io.stderr(`tunvs-sched: unknown command '${argv[0]}'\n${USAGE}`);
    return 2;
  }
  let capacity: number | undefined;
  let trace: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      io.stdout(USAGE);
      return 0;
    }
    if (a === '--capacity' || a.startsWith('--capacity=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const c = Number(v);
      if (v === undefined || !Number.isInteger(c) || c < 1 || c > 0x4000000) {
        io.stderr(`tunvs-sched: --capacity needs an integer 1..67108864\n`);
        return 2;
      }
      capacity = c;
    } else if (a !== '-' && a.startsWith('-')) {
      io.stderr(`tunvs-sched: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else if (trace === undefined) {
      trace = a;
    } else {
      io.stderr(`tunvs-sched: one trace only\n`);
      return 2;
    }
  }
  if (trace === undefined) {
    io.stderr(`tunvs-sched: replay needs a TRACE file (or - for stdin)\n${USAGE}`);
    return 2;
  }
  const input: Readable = trace === '-' ? (io.stdin ?? process.stdin) : createReadStream(trace);
  const r = new Replayer(capacity !== undefined ? { capacity } : {});
  const rl = createInterface({ input, crlfDelay: Infinity });
  let buf: string[] = [];
  const flush = (): void => {
    if (buf.length > 0) io.stdout(buf.join('\n') + '\n');
    buf = [];
  };
  let no = 0;
  try {
    for await (const l of rl) {
      no++;
      const d = r.line(l, no);
      if (d !== null) {
        buf.push(formatDecision(d));
        if (buf.length >= 1024) flush();
      }
    }
  } catch (e) {
    flush();
    rl.close();
    if (e instanceof ReplayError) {
      io.stderr(`tunvs-sched: ${trace}:${e.line}: ${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code !== undefined) {
      io.stderr(`tunvs-sched: ${trace}: ${err.message}\n`);
      return 1;
    }
    throw e;
  }
  flush();
  return 0;
}
