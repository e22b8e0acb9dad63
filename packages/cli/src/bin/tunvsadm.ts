#!/usr/bin/env node
// tunvsadm: the ipvsadm-compatible command line for tunvsd (see ../tunvsadm.ts).
import { runTunvsadm } from '../tunvsadm.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const code = await runTunvsadm(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin,
});
process.exitCode = code;
