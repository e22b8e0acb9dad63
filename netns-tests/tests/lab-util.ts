// Helpers for the lab and real-server netns tests (root only).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The `skip` option of a test that builds namespaces: the reason, when this process is not root. */
export const LAB_SKIP: string | false = process.getuid?.() !== 0 && 'needs root (network namespaces)';

/** The lab's namespace prefix (scripts/lab honours TUNVS_LAB_PREFIX too). */
export const LAB_PREFIX = process.env.TUNVS_LAB_PREFIX || 'lvs-';
/** The lab's run directory (pidfiles, logs, state). */
export const LAB_RUN_DIR = LAB_PREFIX === 'lvs-' ? '/run/tunvs-lab' : `/run/tunvs-lab-${LAB_PREFIX.slice(0, -1)}`;
/** scripts/lab. */
export const LAB = join(ROOT, 'scripts/lab');

/**
 * tshark's verdict on a TCP checksum (`tcp.checksum.status`, `tcp.checksum`,
 * `tcp.checksum_calculated`), good also when it is 0xffff where the computed one is 0x0000:
 * the other zero of ones' complement arithmetic, which every receiver accepts and tshark
 * calls bad ("see RFC 1624"). The host kernel writes it: when it completes a partial
 * checksum in software (skb_checksum_help, e.g. for a TUN device without offloads) a
 * computed 0 becomes CSUM_MANGLED_0 whatever the protocol, and a director relays it as it
 * is (IPIP, GRE, GUE, DR): about 1 TCP segment in 65536.
 */
export function tcpChecksumGood(status: string | undefined, value: string | undefined, computed: string | undefined): boolean {
  return status === '1' || (status === '0' && value === '0xffff' && computed === '0x0000');
}

/** Run a command; returns {code, stdout, stderr} (never throws). */
export function sh(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Run a command and return stdout; throws with stderr on failure. */
export function must(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
}

/** Run `scripts/lab ...args`. */
export function lab(...args: string[]) {
  return sh(LAB, args);
}

/** Existing namespaces whose name starts with `prefix`. */
export function namespaces(prefix: string): string[] {
  return must('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
}

/** Processes whose command line mentions `needle` (excluding this one). */
export function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && !cmd.includes('tap/dist')) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** HTTP GET with curl inside a namespace; returns the body ('' on failure). */
export function curl(ns: string, url: string, extra: string[] = []): string {
  return sh('ip', ['netns', 'exec', ns, 'curl', '-s', '-m', '3', ...extra, url]).stdout;
}

/** Send one UDP datagram from a namespace and return the first reply as text ('' on timeout). */
export function udpEcho(ns: string, addr: string, port: number, msg: string, from?: string): string {
  const js = `
const s = require('dgram').createSocket('udp4');
s.on('message', (m, r) => { process.stdout.write(r.address + ' ' + String(m)); process.exit(0); });
const go = () => s.send(${JSON.stringify(msg)}, ${port}, ${JSON.stringify(addr)});
${from ? `s.bind(0, ${JSON.stringify(from)}, go);` : 'go();'}
setTimeout(() => process.exit(1), 2000);`;
  return sh('ip', ['netns', 'exec', ns, process.execPath, '-e', js]).stdout;
}

/** Whether a file exists. */
export const exists = existsSync;
