#!/usr/bin/env node
// Compares `tunvsd --config-test -f FILE` with Debian's keepalived 2.2.7
// (`keepalived -l -n --config-test -f FILE`) on every configuration of keepalived's own
// corpus (/work/shared/corpus/keepalived/{samples,maint}, or $TUNVS_KEEPALIVED_CORPUS).
//
//   sudo node scripts/keepalived-corpus.mjs [--list] [--class NAME] [--file NAME] [--fresh]
//
// Both run in a fresh network namespace of our own (only `lo`), so the host-dependent
// checks (interfaces, users, script files) see the same, stable host. keepalived's
// verdicts are cached in /tmp keyed by the file's hash (and its include tree's path), so
// a rerun only spends time on tunvs. A keepalived timeout or crash is reported as a
// keepalived failure, not as a disagreement. A file with a top-level net_namespace (which
// keepalived's --config-test does not check at all) is judged on a copy without that line;
// the raw figures count it as it is. Files whose disagreement disappears when the
// top-level vrrp_* blocks are removed (from a copy under /tmp) are counted as VRRP-only:
// the VRRP work owns those verdicts.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = process.env.TUNVS_KEEPALIVED_CORPUS ?? '/work/shared/corpus/keepalived';
const cacheFile = process.env.TUNVS_KEEPALIVED_CACHE ?? join(tmpdir(), 'tunvs-keepalived-verdicts.json');
const prefix = process.env.TUNVS_LAB_PREFIX ?? 'lka-';
const TIMEOUT_S = 8;
const args = process.argv.slice(2);
const listAll = args.includes('--list');
const onlyClass = args.includes('--class') ? args[args.indexOf('--class') + 1] : undefined;
const onlyFile = args.includes('--file') ? args[args.indexOf('--file') + 1] : undefined;
// the cache does not see the host change (a package installed since, e.g. /sbin/ipvsadm for a
// notify script): --fresh runs keepalived again on every file and rewrites the cache
const fresh = args.includes('--fresh');

if (!existsSync(corpus)) {
  console.log(`keepalived-corpus: ${corpus} is absent; nothing to compare`);
  process.exit(0);
}
if (spawnSync('keepalived', ['--version']).status !== 0) {
  console.log('keepalived-corpus: keepalived is not installed (apt-get install keepalived)');
  process.exit(0);
}

// Re-run ourselves inside a fresh namespace (only lo), unless already there.
if (!process.env.TUNVS_CORPUS_INNER) {
  if (process.getuid?.() !== 0) {
    console.error('keepalived-corpus: needs root (it runs inside a network namespace of its own)');
    process.exit(1);
  }
  const ns = `${prefix}corpus-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
  if (add.status !== 0) process.exit(1);
  let status = 1;
  try {
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), ...args], {
      stdio: 'inherit',
      env: { ...process.env, TUNVS_CORPUS_INNER: '1' },
    });
    status = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
  process.exit(status);
}

const { runTunvsdConfigTest } = await import(join(root, 'packages/daemon/dist/index.js'));

/** Top-level configuration files: regular files directly in samples/ and maint/. */
function corpusFiles(base) {
  const out = [];
  for (const sub of ['samples', 'maint']) {
    const d = join(base, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) if (statSync(join(d, f)).isFile()) out.push(join(d, f));
  }
  return out;
}

const cache = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
// the vrrp-less copies live in a fresh temporary directory: key them by their path inside it
const relName = (file) => file.replace(/^.*\/tunvs-corpus-novrrp-[^/]+\//, 'novrrp/').replace(/^.*\/tunvs-corpus-nonetns-[^/]+\//, 'nonetns/');
const keyOf = (file) => createHash('sha256').update(relName(relative(corpus, file))).update('\0').update(readFileSync(file)).digest('hex');

/** keepalived's verdict: { code, out, failure?: 'timeout' | 'crash' } */
function runKeepalived(file) {
  return new Promise((resolve) => {
    const p = spawn('timeout', ['-k', '2', String(TIMEOUT_S), 'keepalived', '-l', '-n', '--config-test', '-f', file], { cwd: dirname(file) });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (out += b));
    p.on('close', (code, signal) => {
      if (code === 124 || code === 137) resolve({ code: -1, out, failure: 'timeout' });
      else if (signal || code === null || code > 128) resolve({ code: -1, out, failure: `crash (${signal ?? 'exit ' + code})` });
      else resolve({ code, out });
    });
  });
}

async function keepalivedVerdicts(files, base) {
  const todo = files.filter((f) => fresh || !cache[keyOf(f)]);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const f = todo[next++];
      cache[keyOf(f)] = await runKeepalived(f);
    }
  };
  if (todo.length) process.stderr.write(`keepalived: ${todo.length} file(s) of ${base} not cached, running...\n`);
  await Promise.all([worker(), worker()]);
  if (todo.length) writeFileSync(cacheFile, JSON.stringify(cache));
  return new Map(files.map((f) => [f, cache[keyOf(f)]]));
}

function runTunvs(file) {
  const lines = [];
  const cwd = process.cwd();
  process.chdir(dirname(file));
  try {
    const code = runTunvsdConfigTest(file, (l) => lines.push(l));
    return { code, out: lines.join('\n') };
  } catch (e) {
    return { code: -1, out: `tunvs threw: ${e.stack}` };
  } finally {
    process.chdir(cwd);
  }
}

// keepalived's messages that depend on the host it runs on
const HOST_PATTERNS = [
  /interface\b.*(doesn't exist|does not exist|not found|unknown)/i,
  /Non-existent interface/i,
  /Cannot find (an IP address|interface)/i,
  /unknown interface/i,
  /\buser\b.*(not found|unknown|does not exist|doesn't exist)/i,
  /Unable to (set|find|get).*(user|group|uid|gid)/i,
  /script .*(not found|cannot|can't|isn't|is not|not executable|not accessible|missing)/i,
  /(No such file|not executable|Permission denied)/i,
  /WARNING - script/i,
  /insecure|unsafe/i,
  /track_file|notify.*(not found|cannot)/i,
  /netns|namespace/i,
];
const hostDependent = (k) => HOST_PATTERNS.some((re) => re.test(k.out));

/** Removes the top-level vrrp_* (and the other VRRP) blocks and lines of a file. */
function stripVrrp(text) {
  const out = [];
  let depth = 0;
  let skipping = false;
  let opened = false;
  for (const line of text.split('\n')) {
    const code = line.replace(/"[^"]*"/g, '""').replace(/[#!].*$/, '');
    const first = code.trim().split(/\s+/)[0] ?? '';
    if (depth === 0 && !skipping && /^(vrrp_(instance|sync_group|script|track_process|group)|track_process|garp_group)$/.test(first)) {
      skipping = true;
      opened = false;
    }
    for (const ch of code) {
      if (ch === '{') depth++;
      else if (ch === '}') depth = Math.max(0, depth - 1);
    }
    if (!skipping) {
      out.push(line);
      continue;
    }
    out.push('');
    if (code.includes('{')) opened = true;
    if (opened && depth === 0) skipping = false;
  }
  return out.join('\n');
}

const classOf = (k, ours) => `keepalived ${k.code} / tunvs ${ours.code}`;
// tunvs refuses an empty file at config-test, start and reload alike (issue 13 item 4: an
// empty file must never wipe a running director); keepalived runs it with nothing in it
const deliberate = (r) => r.k.code === 0 && /: error: the file is empty: nothing to apply/.test(r.ours.out);

const files = corpusFiles(corpus).filter((f) => !onlyFile || f.endsWith('/' + onlyFile));
const kv = await keepalivedVerdicts(files, corpus);

const rows = [];
for (const f of files) {
  const k = kv.get(f);
  const ours = runTunvs(f);
  rows.push({ f, k, ours, host: hostDependent(k), src: f });
}

// A top-level net_namespace makes keepalived 2.2.7's --config-test exit 0 without checking
// the file at all (it would check it inside that namespace), while tunvs judges it and
// exits non-zero on errors (issue 13: exit 0 means tunvsd applies it): a deliberate
// divergence. Such files are judged on a copy without the net_namespace line, where
// keepalived does check them; the raw figure above the line counts them as they are.
const netnsRows = [];
let netnsRoot;
for (const r of rows) {
  const m = /^(.*):(\d+): warning: parsed, not implemented by tunvs: net_namespace$/m.exec(r.ours.out);
  if (!m || m[1] !== r.f) continue;
  netnsRoot ??= mkdtempSync(join(tmpdir(), 'tunvs-corpus-nonetns-'));
  if (!netnsRows.length) cpSync(corpus, netnsRoot, { recursive: true });
  const copy = join(netnsRoot, relative(corpus, r.f));
  const lines = readFileSync(r.f, 'utf8').split('\n');
  lines[Number(m[2]) - 1] = '';
  writeFileSync(copy, lines.join('\n'));
  netnsRows.push({ r, copy });
}
const raw = rows.map((r) => ({ ...r }));
if (netnsRows.length) {
  const nkv = await keepalivedVerdicts(netnsRows.map((n) => n.copy), 'the net_namespace-less copies');
  for (const { r, copy } of netnsRows) {
    r.netns = { k: r.k, ours: r.ours };
    r.k = nkv.get(copy);
    r.ours = runTunvs(copy);
    r.host = hostDependent(r.k);
    r.src = copy;
  }
}

// For the disagreements: the same comparison on a copy whose vrrp blocks are removed.
const disagreeing = rows.filter((r) => !r.k.failure && r.k.code !== r.ours.code);
let stripRoot;
if (disagreeing.length) {
  stripRoot = mkdtempSync(join(tmpdir(), 'tunvs-corpus-novrrp-'));
  cpSync(corpus, stripRoot, { recursive: true });
  const stripped = [];
  for (const r of disagreeing) {
    const copy = join(stripRoot, relative(corpus, r.f));
    writeFileSync(copy, stripVrrp(readFileSync(r.src, 'utf8')));
    stripped.push(copy);
  }
  const skv = await keepalivedVerdicts(stripped, 'the vrrp-less copies');
  for (const [i, r] of disagreeing.entries()) {
    const k2 = skv.get(stripped[i]);
    const o2 = runTunvs(stripped[i]);
    r.vrrpOnly = !k2.failure && k2.code === o2.code;
    r.stripped = { k: k2, ours: o2 };
  }
  rmSync(stripRoot, { recursive: true, force: true });
}
if (netnsRoot) rmSync(netnsRoot, { recursive: true, force: true });

const name = (f) => relative(corpus, f);
const failures = rows.filter((r) => r.k.failure);
const judged = rows.filter((r) => !r.k.failure);
const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) : '100.0');
const line = (label, set) => {
  const a = set.filter((r) => r.k.code === r.ours.code).length;
  console.log(`${label.padEnd(34)} ${String(a).padStart(4)} / ${String(set.length).padEnd(4)} agree (${pct(a, set.length)}%)`);
};

console.log(`keepalived corpus: ${corpus} (${files.length} files; keepalived verdicts cached in ${cacheFile})`);
for (const r of failures) console.log(`  keepalived failure: ${name(r.f)}: ${r.k.failure} (tunvs exit ${r.ours.code})`);
const rawJudged = raw.filter((r) => !r.k.failure);
line('raw, overall (keepalived judged)', rawJudged);
line('raw, host-independent', rawJudged.filter((r) => !r.host));
console.log(`top-level net_namespace (keepalived exits 0 unchecked; deliberate): ${netnsRows.length} file(s), ` +
  `${netnsRows.filter(({ r }) => r.netns.k.code !== r.netns.ours.code).length} disagreeing as they are; below judged without that line`);
line('overall (keepalived judged)', judged);
line('host-independent', judged.filter((r) => !r.host));
line('host-dependent', judged.filter((r) => r.host));
const vrrpOnly = disagreeing.filter((r) => r.vrrpOnly);
const nonVrrp = disagreeing.filter((r) => !r.vrrpOnly);
console.log(`disagreements only inside vrrp_* blocks: ${vrrpOnly.length} (VRRP work)`);
line('overall, VRRP-only ones counted as agreeing', judged.map((r) => (r.vrrpOnly ? { ...r, ours: r.k } : r)));
line('host-independent, same', judged.filter((r) => !r.host).map((r) => (r.vrrpOnly ? { ...r, ours: r.k } : r)));
const del = judged.filter(deliberate);
console.log(`deliberate: empty file refused by tunvs (issue 13 item 4): ${del.length}${del.length ? ': ' + del.map((r) => name(r.f)).join(' ') : ''}`);
line('host-independent, not these', judged.filter((r) => !r.host && !deliberate(r)));
console.log(`remaining disagreements (not VRRP-only): ${nonVrrp.length}`);

const byClass = new Map();
for (const r of disagreeing) {
  const c = `${deliberate(r) ? 'deliberate' : r.vrrpOnly ? 'vrrp-only' : r.host ? 'host-dependent' : 'host-independent'}: ${classOf(r.k, r.ours)}${r.netns ? ' (net_namespace line removed)' : ''}`;
  if (!byClass.has(c)) byClass.set(c, []);
  byClass.get(c).push(r);
}
console.log('per-class summary:');
for (const [c, list] of [...byClass].sort((a, b) => b[1].length - a[1].length)) {
  console.log(`  ${String(list.length).padStart(4)}  ${c}: ${list.slice(0, listAll ? list.length : 8).map((r) => name(r.f)).join(' ')}${!listAll && list.length > 8 ? ' ...' : ''}`);
  if (onlyClass && c.includes(onlyClass)) {
    for (const r of list) {
      console.log(`---- ${name(r.f)}`);
      console.log('keepalived:\n' + r.k.out.trim().split('\n').slice(0, 15).map((l) => '  ' + l).join('\n'));
      console.log('tunvs:\n' + r.ours.out.trim().split('\n').slice(0, 15).map((l) => '  ' + l).join('\n'));
    }
  }
}
process.exit(0);
