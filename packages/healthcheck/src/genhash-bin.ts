#!/usr/bin/env node
// tunvs-genhash: keepalived's genhash (MD5 of an HTTP body for HTTP_GET `digest`).
import { runGenhash } from './genhash.js';

process.exitCode = await runGenhash(process.argv.slice(2));
