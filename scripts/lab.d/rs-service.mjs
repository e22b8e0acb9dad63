#!/usr/bin/env node
// The lab's real-server service: one process per real server, run inside its namespace.
//
//   node rs-service.mjs --name rs1 [--http-port 80] [--udp-port 7] [--pidfile FILE]
//
// HTTP (keep-alive): `GET /` answers "<name>\n"; `GET /bytes/N` answers N bytes ('x').
// Every response carries `X-Server: <name>`. UDP echo: each datagram comes back prefixed
// with "<name> ", sent from the address it was sent to. HTTP listens on 0.0.0.0 and UDP on
// every local IPv4 address at start, so a VIP on `lo` (LVS-TUN/DR, added before) is served.
// The pidfile is written once both sockets listen, and removed on SIGTERM/SIGINT.
import http from 'node:http';
import dgram from 'node:dgram';
import os from 'node:os';
import { writeFileSync, rmSync, renameSync } from 'node:fs';

const opts = { name: 'rs', httpPort: 80, udpPort: 7, pidfile: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const v = argv[i + 1];
  if (a === '--name') opts.name = v;
  else if (a === '--http-port') opts.httpPort = Number(v);
  else if (a === '--udp-port') opts.udpPort = Number(v);
  else if (a === '--pidfile') opts.pidfile = v;
  else {
    console.error(`rs-service: unknown option ${a}`);
    process.exit(2);
  }
  i++;
}

const MAX_BYTES = 1 << 30;
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const nameLine = Buffer.from(`${opts.name}\n`);
const prefix = Buffer.from(`${opts.name} `);

const server = http.createServer({ keepAlive: true }, (req, res) => {
  res.setHeader('X-Server', opts.name);
  const url = req.url ?? '/';
  const m = /^\/bytes\/(\d+)$/.exec(url);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'Content-Type': 'text/plain' });
    res.end('method not allowed\n');
  } else if (url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': nameLine.length });
    res.end(req.method === 'HEAD' ? undefined : nameLine);
  } else if (m && Number(m[1]) <= MAX_BYTES) {
    let left = Number(m[1]);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': left });
    if (req.method === 'HEAD') return void res.end();
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
});
server.keepAliveTimeout = 60_000;

// UDP: one socket per local IPv4 address (VIP on lo included), not one on 0.0.0.0: a
// wildcard socket would answer from the interface's primary address, while LVS-TUN/DR
// clients expect the reply from the VIP they sent to (Node has no IP_PKTINFO).
const addrs = [];
for (const list of Object.values(os.networkInterfaces())) {
  for (const a of list ?? []) if (a.family === 'IPv4' || a.family === 4) addrs.push(a.address);
}
const udps = addrs.map((addr) => {
  const u = dgram.createSocket('udp4');
  u.on('message', (msg, rinfo) => {
    u.send(Buffer.concat([prefix, msg]), rinfo.port, rinfo.address);
  });
  u.on('error', (e) => {
    console.error(`rs-service ${opts.name}: udp ${addr}: ${e.message}`);
    process.exit(1);
  });
  return [u, addr];
});
server.on('error', (e) => {
  console.error(`rs-service ${opts.name}: http: ${e.message}`);
  process.exit(1);
});

let ready = 0;
const onListening = () => {
  if (++ready < 1 + udps.length) return;
  if (opts.pidfile) {
    writeFileSync(opts.pidfile + '.tmp', `${process.pid}\n`);
    renameSync(opts.pidfile + '.tmp', opts.pidfile);
  }
  console.log(`rs-service ${opts.name}: http :${opts.httpPort}, udp echo ${addrs.join(',')}:${opts.udpPort}, pid ${process.pid}`);
};
server.listen(opts.httpPort, '0.0.0.0', onListening);
for (const [u, addr] of udps) u.bind(opts.udpPort, addr, onListening);

const stop = () => {
  if (opts.pidfile) rmSync(opts.pidfile, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
