#!/usr/bin/env node
// tunvs-console: manage the console's password and token files.
import { readFileSync } from 'node:fs';
import { hashPassword, hashToken, randomSecret, setCredential } from '../auth.js';

const USAGE = `Usage: tunvs-console passwd -f FILE USER [--random]
       tunvs-console token -f FILE USER

  passwd   set USER's password (scrypt) in the password file; the password is read from
           standard input (first line), or generated and printed with --random
  token    create an API token for USER (Authorization: Bearer TOKEN); the token is
           printed once, the file keeps only its SHA-256
`;

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  let file = '';
  let random = false;
  const rest: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f' || a === '--file') file = argv[++i] ?? '';
    else if (a === '--random') random = true;
    else rest.push(a);
  }
  const user = rest[0];
  if ((cmd !== 'passwd' && cmd !== 'token') || !file || !user) {
    process.stderr.write(USAGE);
    return cmd === '-h' || cmd === '--help' ? 0 : 2;
  }
  try {
    if (cmd === 'token') {
      const token = randomSecret(24);
      setCredential(file, user, hashToken(token));
      process.stdout.write(`${token}\n`);
      return 0;
    }
    let password: string;
    if (random) password = randomSecret(12);
    else {
      password = readFileSync(0, 'utf8').split('\n')[0] ?? '';
      if (password.length < 8) {
        process.stderr.write('tunvs-console: the password must have at least 8 characters\n');
        return 1;
      }
    }
    setCredential(file, user, await hashPassword(password));
    if (random) process.stdout.write(`${password}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`tunvs-console: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((c) => process.exit(c));
