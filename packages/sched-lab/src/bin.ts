#!/usr/bin/env node
// tunvs-sched: the scheduler lab and trace replay (see ./cli.ts for the command line).
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
