import { hsipKey, hsiphash32 } from '@tunvs/scheduler';
const K = hsipKey(2654435761n, 2654435761n);
function old(v, key) {
  let v0h = key.v0h, v0l = key.v0l, v1h = key.v1h, v1l = key.v1l, v2h = key.v2h, v2l = key.v2l;
  let v3h = key.v3h ^ 0x04000000, v3l = key.v3l ^ v; let s, th, tl;
  for (let r = 0; r < 4; r++) {
    if (r === 1) { v0h ^= 0x04000000; v0l ^= v; v2l ^= 0xff; }
    s = (v0l >>> 0) + (v1l >>> 0); v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) | 0; v0l = s | 0;
    th = (v1h << 13) | (v1l >>> 19); tl = (v1l << 13) | (v1h >>> 19); v1h = th ^ v0h; v1l = tl ^ v0l;
    th = v0h; v0h = v0l; v0l = th;
    s = (v2l >>> 0) + (v3l >>> 0); v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) | 0; v2l = s | 0;
    th = (v3h << 16) | (v3l >>> 16); tl = (v3l << 16) | (v3h >>> 16); v3h = th ^ v2h; v3l = tl ^ v2l;
    s = (v0l >>> 0) + (v3l >>> 0); v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) | 0; v0l = s | 0;
    th = (v3h << 21) | (v3l >>> 11); tl = (v3l << 21) | (v3h >>> 11); v3h = th ^ v0h; v3l = tl ^ v0l;
    s = (v2l >>> 0) + (v1l >>> 0); v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) | 0; v2l = s | 0;
    th = (v1h << 17) | (v1l >>> 15); tl = (v1l << 17) | (v1h >>> 15); v1h = th ^ v2h; v1l = tl ^ v2l;
    th = v2h; v2h = v2l; v2l = th;
  }
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
const N = 4096, a = new Uint32Array(N); for (let i=0;i<N;i++) a[i]=(Math.random()*2**32)>>>0;
for (let i=0;i<1000;i++) if (old(a[i],K)!==hsiphash32(a[i],K)) throw new Error('mismatch');
function bNew(it){let s=0;for(let i=0;i<it;i++){s^=hsiphash32(a[i&4095],K);}return s;}
function bOld(it){let s=0;for(let i=0;i<it;i++){s^=old(a[i&4095],K);}return s;}
const res={new:[],old:[]};
for (let r=0;r<8;r++) for (const [n,f] of [['new',bNew],['old',bOld]]) { f(1e5); const t=process.hrtime.bigint(); f(3e6); const dt=Number(process.hrtime.bigint()-t)/1e9; res[n].push(3e6/dt/1e6); }
for (const k in res) console.log(k, Math.max(...res[k]).toFixed(1), res[k].map(x=>x.toFixed(0)).join(' '));
