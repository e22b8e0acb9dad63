/**
 * Helpers for tests in Linux network namespaces (root): create namespaces, veth pairs and
 * bridges, run commands (or node scripts) inside a namespace, and clean everything up, also
 * when a test fails. Typical use in a tap test:
 *
 *   const lab = await openLab(t, 'tt');          // teardown registered on t
 *   const ns = lab.netns('a');                   // "tt-a-<pid>" (lo up)
 *   lab.veth({ name: 'tta0', ns }, { name: 'tta1', ns: lab.netns('b') });
 *   lab.ip(ns, 'addr add 10.0.0.1/24 dev tta0');
 *   const child = lab.spawnNode(ns, 'fixtures/x.mjs', ['arg']);
 *   const ready = await child.json((m) => m.ready === true);
 *
 * Names: namespaces get the prefix and the test process id, so concurrent runs and other
 * engineers' tests do not collide; device names are the caller's (max 15 bytes), and live
 * inside those namespaces, so they only need to be unique per test.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** netns-tests/ (the folder that holds fixtures/ and src/). */
export const NETNS_TESTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Whether the process is root (netns tests need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Result of a command. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a command synchronously; never throws (look at `status`). */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30_000 });
  return {
    status: r.status ?? (r.error ? 127 : 1),
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? (r.error ? String(r.error) : ''),
  };
}

/** Run a command synchronously and return stdout; throws with stderr when it fails. */
export function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** `ip -n NS <words>` (split on spaces); throws on failure. */
export function ipIn(ns: string | null, words: string): string {
  const args = words.split(/\s+/).filter(Boolean);
  return sh('ip', ns ? ['-n', ns, ...args] : args);
}

/** Run a command inside a namespace (`ip netns exec`), synchronously. */
export function execIn(ns: string, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** Whether a namespace exists. */
export function netnsExists(ns: string): boolean {
  return run('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === ns);
}

/** Create a namespace (deleting a stale one of the same name first), with lo up. */
export function createNetns(ns: string): void {
  if (netnsExists(ns)) deleteNetns(ns);
  sh('ip', ['netns', 'add', ns]);
  ipIn(ns, 'link set lo up');
}

/** Delete a namespace (and with it every device in it); no error when missing. */
export function deleteNetns(ns: string): void {
  // processes still inside keep it alive; kill them first
  const pids = run('ip', ['netns', 'pids', ns]).stdout.split('\n').filter(Boolean);
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  run('ip', ['netns', 'del', ns]);
}

/** One end of a veth pair: its name and namespace (null = the current one). */
export interface VethEnd {
  name: string;
  ns: string | null;
  /** IPv4 address with prefix, e.g. '10.0.0.1/24' */
  address?: string;
  /** MAC, e.g. '02:00:00:00:00:01' */
  mac?: string;
}

/** Create a veth pair between two namespaces, set addresses and MACs, bring both ends up. */
export function createVeth(a: VethEnd, b: VethEnd): void {
  // create in a's namespace, then move b's end
  const args = ['link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name];
  if (b.ns) args.push('netns', b.ns);
  sh('ip', a.ns ? ['-n', a.ns, ...args] : args);
  for (const end of [a, b]) {
    if (end.mac) ipIn(end.ns, `link set ${end.name} address ${end.mac}`);
    if (end.address) ipIn(end.ns, `addr add ${end.address} dev ${end.name}`);
    ipIn(end.ns, `link set ${end.name} up`);
  }
}

/** Create a bridge in a namespace, up, with bridge netfilter off and no STP delay. */
export function createBridge(ns: string, name: string, address?: string): void {
  ipIn(ns, `link add ${name} type bridge forward_delay 0 stp_state 0`);
  if (address) ipIn(ns, `addr add ${address} dev ${name}`);
  ipIn(ns, `link set ${name} up`);
  // br_netfilter would send bridged frames through iptables; not wanted in labs
  execIn(ns, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0']);
}

/** Attach an interface to a bridge (and bring it up). */
export function attachToBridge(ns: string, dev: string, bridge: string): void {
  ipIn(ns, `link set ${dev} master ${bridge}`);
  ipIn(ns, `link set ${dev} up`);
}

/** Set a sysctl inside a namespace, e.g. ('net.ipv4.ip_forward', '1'). */
export function sysctlIn(ns: string, key: string, value: string): void {
  const r = execIn(ns, 'sysctl', ['-qw', `${key}=${value}`]);
  if (r.status !== 0) throw new Error(`sysctl ${key}=${value} in ${ns}: ${r.stderr.trim()}`);
}

/** A long-running child process with line-oriented stdout (JSON lines welcome). */
export class Child {
  readonly lines: string[] = [];
  stderr = '';
  /** exit code once the process ended and its output was read (128 when killed by a signal) */
  exitCode: number | null = null;
  private readonly waiters: { test: (line: string) => boolean; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  private readonly exitWaiters: (() => void)[] = [];
  private partial = '';

  constructor(readonly proc: ChildProcess, readonly label: string) {
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (d: string) => {
      this.partial += d;
      let i;
      while ((i = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, i);
        this.partial = this.partial.slice(i + 1);
        this.lines.push(line);
        for (let w = 0; w < this.waiters.length; w++) {
          if (this.waiters[w]!.test(line)) {
            this.waiters[w]!.resolve(line);
            this.waiters.splice(w, 1);
            w--;
          }
        }
      }
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      this.stderr += d;
    });
    proc.stdin?.on('error', () => {
      // the child went away; its exit is reported through `close`
    });
    proc.on('close', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : 1);
      const err = new Error(`${this.label} exited (${this.exitCode}); stderr: ${this.stderr.trim().slice(-2000)}`);
      for (const w of this.waiters.splice(0)) w.reject(err);
      for (const w of this.exitWaiters.splice(0)) w();
    });
  }

  /** Wait for a stdout line matching `test`, looking at lines from index `from` on. */
  line(test: (line: string) => boolean, timeoutMs = 10_000, from = 0): Promise<string> {
    for (let i = from; i < this.lines.length; i++) if (test(this.lines[i]!)) return Promise.resolve(this.lines[i]!);
    if (this.exitCode !== null)
      return Promise.reject(new Error(`${this.label} exited (${this.exitCode}); stderr: ${this.stderr.trim().slice(-2000)}`));
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (l: string): void => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: Error): void => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const idx = this.waiters.indexOf(waiter);
        if (idx >= 0) this.waiters.splice(idx, 1);
        reject(new Error(`${this.label}: no matching line within ${timeoutMs} ms; stderr: ${this.stderr.trim().slice(-2000)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Wait for a JSON line (any seen so far included) whose object satisfies `test`. */
  async json<T = Record<string, unknown>>(test: (m: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<T> {
    const line = await this.line((l) => {
      const m = parseJsonLine(l);
      return m !== null && test(m);
    }, timeoutMs);
    return parseJsonLine(line) as T;
  }

  /** Send a JSON command line on stdin and wait for the next reply line with the same `op`. */
  async request<T = Record<string, unknown>>(cmd: { op: string } & Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    const from = this.lines.length;
    this.proc.stdin?.write(JSON.stringify(cmd) + '\n');
    const line = await this.line((l) => parseJsonLine(l)?.op === cmd.op, timeoutMs, from);
    return parseJsonLine(line) as T;
  }

  /** Resolve with the exit code; after `timeoutMs`, kill it and resolve anyway. */
  wait(timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        // the process is gone but a descendant of it still holds its output open, so
        // 'close' never comes: stop reading and resolve rather than hang the test
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          this.proc.stdout?.destroy();
          this.proc.stderr?.destroy();
          setTimeout(done, 1000).unref();
        }
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.exitCode ?? 1);
      };
      if (this.exitCode !== null) done();
      else this.exitWaiters.push(done);
    });
  }

  /** Close stdin (the fixtures exit on that) and wait; kill after `timeoutMs`. */
  stop(timeoutMs = 5_000): Promise<number> {
    this.proc.stdin?.end();
    return this.wait(timeoutMs);
  }

  /** SIGKILL the child (`ip netns exec` execs the command, so this is the real process). */
  kill(): void {
    if (this.exitCode === null && this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

function parseJsonLine(l: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(l);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Start a command inside a namespace (null = here) as a Child. */
export function spawnIn(ns: string | null, cmd: string, args: string[], label = cmd): Child {
  const argv = ns ? ['netns', 'exec', ns, cmd, ...args] : args;
  const proc = spawn(ns ? 'ip' : cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Child(proc, `${label}${ns ? ` in ${ns}` : ''}`);
}

/** Resolve a script path relative to netns-tests/ unless absolute. */
export function fixturePath(script: string): string {
  return isAbsolute(script) ? script : join(NETNS_TESTS_DIR, script);
}

/** The minimal teardown registration we need from tap's `t`. */
export interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

/** Namespaces, devices and child processes of one test, removed by `cleanup`. */
export class Lab {
  readonly namespaces: string[] = [];
  readonly children: Child[] = [];
  private readonly cleanups: (() => void)[] = [];

  constructor(readonly prefix: string) {}

  /** Create namespace "<prefix>-<short>-<pid>" (lo up) and return its name. */
  netns(short: string): string {
    const ns = `${this.prefix}-${short}-${process.pid}`;
    createNetns(ns);
    this.namespaces.push(ns);
    return ns;
  }

  /** Create a veth pair (see createVeth). */
  veth(a: VethEnd, b: VethEnd): void {
    createVeth(a, b);
  }

  /** Create a bridge in a namespace (see createBridge). */
  bridge(ns: string, name: string, address?: string): void {
    createBridge(ns, name, address);
  }

  /** `ip -n ns <words>`. */
  ip(ns: string | null, words: string): string {
    return ipIn(ns, words);
  }

  /** Run a command in a namespace synchronously. */
  exec(ns: string, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    return execIn(ns, cmd, args, opts);
  }

  /** Start a command in a namespace; it is killed at cleanup. */
  spawn(ns: string | null, cmd: string, args: string[], label?: string): Child {
    const c = spawnIn(ns, cmd, args, label);
    this.children.push(c);
    return c;
  }

  /** Start `node <script> ...args` in a namespace (script relative to netns-tests/). */
  spawnNode(ns: string | null, script: string, args: string[] = [], nodeArgs: string[] = []): Child {
    return this.spawn(ns, process.execPath, [...nodeArgs, fixturePath(script), ...args], script);
  }

  /** Run something extra at cleanup (before namespaces go). */
  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Kill children, run extra cleanups, delete namespaces. Idempotent. */
  async cleanup(): Promise<void> {
    for (const c of this.children.splice(0)) {
      c.kill();
      await c.wait(2_000);
    }
    for (const f of this.cleanups.splice(0).reverse()) {
      try {
        f();
      } catch {
        // best effort
      }
    }
    for (const ns of this.namespaces.splice(0)) deleteNetns(ns);
  }
}

/** A Lab whose cleanup is registered on `t.teardown` (and on process exit as a last resort). */
export function openLab(t: Teardownable, prefix: string): Lab {
  const lab = new Lab(prefix);
  t.teardown(() => lab.cleanup());
  process.once('exit', () => {
    for (const c of lab.children) c.kill();
    for (const ns of lab.namespaces) run('ip', ['netns', 'del', ns]);
  });
  return lab;
}

/** Sleep. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
