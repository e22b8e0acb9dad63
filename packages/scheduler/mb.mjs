import { hsipKey, hsiphash32 } from '@tunvs/scheduler';
const K = hsipKey(2654435761n, 2654435761n);
const N = 4096, a = new Uint32Array(N); for (let i=0;i<N;i++) a[i]=(Math.random()*2**32)>>>0;
const M = 4093;
function b1(it){let s=0;for(let i=0;i<it;i++){s^=hsiphash32(a[i&4095],K);}return s;}
function b2(it){let s=0;for(let i=0;i<it;i++){s+=hsiphash32(a[i&4095],K)%M;}return s;}
function b3(it){let s=0;for(let i=0;i<it;i++){const h=hsiphash32(a[i&4095],K);s+=h-Math.floor(h/M)*M;}return s;}
for (const [n,f] of [['hash',b1],['hash%M',b2],['hash-floor',b3],['hash',b1],['hash%M',b2],['hash-floor',b3]]) { f(1e5); const t=process.hrtime.bigint(); f(5e6); const dt=Number(process.hrtime.bigint()-t)/1e9; console.log(n, (5e6/dt/1e6).toFixed(1)+'M/s'); }
