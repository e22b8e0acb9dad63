#!/usr/bin/env node
// tunvs-sched: the scheduler lab and trace replay (see ./cli.ts for the command line).
import { runCli } from './cli.js';

// a reader that stops early (`tunvs-sched bench ... | head`) ends the output, not the lab with a stack
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
