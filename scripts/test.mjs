#!/usr/bin/env node
// Runs every test suite with tap and ends with one line "N passed, N failed".
//
//   node scripts/test.mjs            unit + engine tests, then netns tests (root)
//   node scripts/test.mjs --unit     only the tests that need no root
//   node scripts/test.mjs --netns    only the network-namespace tests
//   node scripts/test.mjs FILE...    just these test files
//
// Counting: every top-level `t.test(...)` inside a test file is one test: passed, failed,
// or skipped (tap's `{ skip }` and `{ todo }` both count as skipped, never as passed); a
// whole file skipped (`t.plan(0, reason)`) counts as one skipped; a file that dies before
// reporting any test counts as one failure.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
process.env.TS_NODE_PROJECT = join(root, 'tsconfig.test.json');

const args = process.argv.slice(2);
const onlyUnit = args.includes('--unit');
const onlyNetns = args.includes('--netns');
const files = args.filter((a) => !a.startsWith('--'));

function find(dir, pred, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

const isTest = (p) => /\.test\.(ts|mjs|js)$/.test(p);
const unitFiles = find('packages', (p) => isTest(p) && /\/tests\//.test(p)).sort();
const netnsFiles = find('netns-tests', (p) => isTest(p) && /\/tests\//.test(p)).sort();

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function runTap(list, extra) {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules/tap/dist/esm/run.mjs'), '--reporter=tap', ...extra, ...list],
      { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
    );
    let buf = '';
    let currentFile = '';
    let fileHadFailure = false;
    let fileHadTests = false;
    const onLine = (line) => {
      process.stdout.write(line + '\n');
      const sub = /^ {4}# Subtest: (.*)$/.exec(line);
      const top = /^(not )?ok \d+ - (\S+)/.exec(line);
      const inner = /^ {4}(not )?ok \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
      if (/^# Subtest: /.test(line)) {
        currentFile = line.slice('# Subtest: '.length);
        fileHadFailure = false;
        fileHadTests = false;
      } else if (inner) {
        fileHadTests = true;
        if (inner[3] === 'SKIP' || inner[3] === 'TODO') totals.skipped++;
        else if (inner[1]) {
          totals.failed++;
          fileHadFailure = true;
          failures.push(`${currentFile}: ${inner[2]}`);
        } else totals.passed++;
      } else if (top) {
        if (!top[1] && !fileHadTests && / # SKIP/.test(line)) totals.skipped++;
        else if (top[1] && !fileHadFailure) {
          totals.failed++;
          failures.push(`${top[2]}: the file failed${fileHadTests ? ' after its tests' : ' before reporting a test'}`);
        }
      }
      void sub;
    };
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    child.on('close', (code) => {
      if (buf) onLine(buf);
      done(code ?? 1);
    });
  });
}

let status = 0;
if (files.length > 0) {
  status |= await runTap(files, []);
} else {
  if (!onlyNetns && unitFiles.length) status |= await runTap(unitFiles, []);
  if (!onlyUnit && netnsFiles.length) {
    if (process.getuid && process.getuid() !== 0) {
      console.log(`# netns tests need root: ${netnsFiles.length} files not run (sudo npm test runs them)`);
      totals.skipped += netnsFiles.length;
    } else {
      status |= await runTap(netnsFiles, ['--jobs=1']);
    }
  }
}
if (failures.length) {
  console.log('\nFailures:');
  for (const f of failures) console.log(`  - ${f}`);
}
const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`\n${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exit(status !== 0 || totals.failed > 0 ? 1 : 0);
