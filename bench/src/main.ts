#!/usr/bin/env node
/**
 * `npm run bench` runs every suite; `npm run bench -- <suite> [--json] [--quick]` runs one.
 * Suites live in `src/suites/<name>.ts`, each exporting `suite` (see suite.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineInfo } from './machine.js';
import type { Suite } from './suite.js';
import { log } from './suite.js';

const here = dirname(fileURLToPath(import.meta.url));

async function loadSuites(): Promise<Map<string, Suite>> {
  const dir = join(here, 'suites');
  const out = new Map<string, Suite>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.js')) continue;
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { suite?: Suite };
    if (mod.suite) out.set(mod.suite.name, mod.suite);
  }
  return out;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const positional = argv.filter((a) => !a.startsWith('--'));
  const suites = await loadSuites();
  if (argv.includes('--help') || argv.includes('-h')) {
    log('usage: npm run bench -- [SUITE] [--json] [--quick]\n\nsuites:');
    for (const s of suites.values()) log(`  ${s.name.padEnd(12)} ${s.description}`);
    return 0;
  }
  const name = positional[0];
  const selected = name ? [suites.get(name)] : [...suites.values()];
  if (name && !selected[0]) {
    log(`unknown suite "${name}"; known: ${[...suites.keys()].join(', ')}`);
    return 2;
  }
  const machine = machineInfo();
  log(`machine: ${machine.cpus} x ${machine.cpuModel}, kernel ${machine.kernel}, node ${machine.node}`);
  const results: Record<string, unknown> = {};
  for (const s of selected as Suite[]) {
    if (s.needsRoot && process.getuid && process.getuid() !== 0) {
      log(`${s.name}: needs root, skipped`);
      continue;
    }
    log(`\n== ${s.name}: ${s.description}`);
    results[s.name] = await s.run({ json, quick, args: positional.slice(1) });
  }
  if (json) {
    const out = name ? { ...(results[name] as object), machine } : { machine, suites: results };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
