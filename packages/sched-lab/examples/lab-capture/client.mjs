// Runs in the lab's client namespace: HTTP connections (one request each, P at a time)
// and UDP flows (one datagram each, from a new socket) to the VIP; prints one JSON object
// with, per connection, the client port and the real server that answered.
//   node client.mjs VIP HTTP_CONNECTIONS PARALLEL PATH UDP_FLOWS
import http from 'node:http';
import dgram from 'node:dgram';

const [vip, nS, pS, path, uS] = process.argv.slice(2);
const n = Number(nS);
const parallel = Number(pS);
const udpN = Number(uS);
const httpOut = [];
const udpOut = [];
let errors = 0;

function one() {
  return new Promise((res) => {
    let port = 0;
    const req = http.get({ host: vip, port: 80, path, agent: false, timeout: 5000, headers: { connection: 'close' } }, (r) => {
      r.resume();
      r.on('end', () => {
        httpOut.push({ port, server: String(r.headers['x-server'] ?? '') });
        res();
      });
    });
    req.on('socket', (s) => s.on('connect', () => (port = s.localPort)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      errors++;
      res();
    });
  });
}

let next = 0;
async function worker() {
  while (next < n) {
    next++;
    await one();
  }
}
await Promise.all(Array.from({ length: parallel }, worker));

for (let i = 0; i < udpN; i++) {
  await new Promise((res) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      errors++;
      s.close();
      res();
    }, 2000);
    s.on('message', (m) => {
      clearTimeout(timer);
      udpOut.push({ port: s.address().port, server: m.toString().split(' ')[0] });
      s.close();
      res();
    });
    s.send(Buffer.from(`flow ${i}`), 7, vip);
  });
}
process.stdout.write(JSON.stringify({ http: httpOut, udp: udpOut, errors }) + '\n');
