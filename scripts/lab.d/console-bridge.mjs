#!/usr/bin/env node
// Reach a server that listens on 127.0.0.1 inside a network namespace from the host (or the
// other way round) through a Unix socket, which every namespace shares:
//
//   inside the namespace:  node console-bridge.mjs unix-to-tcp SOCKET 127.0.0.1:9280
//   on the host:           node console-bridge.mjs tcp-to-unix 127.0.0.1:9280 SOCKET
//
// Prints {"ready":true} once listening; exits on SIGTERM or when stdin closes (if piped).
import net from 'node:net';
import { rmSync } from 'node:fs';

const [mode, from, to] = process.argv.slice(2);
const hostPort = (s) => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
};
if (!['unix-to-tcp', 'tcp-to-unix'].includes(mode) || !from || !to) {
  console.error('usage: console-bridge.mjs unix-to-tcp SOCKET HOST:PORT | tcp-to-unix HOST:PORT SOCKET');
  process.exit(2);
}
const connect = () => (mode === 'unix-to-tcp' ? net.connect(hostPort(to)) : net.connect(to));
const server = net.createServer((c) => {
  const up = connect();
  c.pipe(up).pipe(c);
  const end = () => {
    c.destroy();
    up.destroy();
  };
  c.on('error', end);
  up.on('error', end);
});
if (mode === 'unix-to-tcp') {
  rmSync(from, { force: true });
  server.listen(from);
} else server.listen(hostPort(from));
server.on('listening', () => process.stdout.write(JSON.stringify({ ready: true }) + '\n'));
const stop = () => {
  server.close();
  if (mode === 'unix-to-tcp') rmSync(from, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!process.stdin.isTTY) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
