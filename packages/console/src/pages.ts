/**
 * The console's pages, rendered on the server as plain HTML (forms work without script;
 * /static/console.js adds live figures, their ages and the chart). Piranha's tabs made
 * current: Status, Virtual servers, Real servers, Health checks, Redundancy, Settings,
 * Save.
 */
import type { RealServerHealth, VrrpInstanceStats, VrrpSyncGroupStats, SyncDaemonStats } from '@tunvs/metrics';
import type { ServiceStatus } from './sampler.js';
import type { DefenseSettings } from '@tunvs/model';

/** Escape text for HTML. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Raw HTML (already escaped). */
class Html {
  constructor(readonly s: string) {}
  toString(): string {
    return this.s;
  }
}

/** Template tag: interpolations are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...vals: unknown[]): Html {
  let out = strings[0]!;
  vals.forEach((v, i) => {
    const piece = (x: unknown): string => (x instanceof Html ? x.s : Array.isArray(x) ? x.map(piece).join('') : x === null || x === undefined || x === false ? '' : esc(x));
    out += piece(v) + strings[i + 1]!;
  });
  return new Html(out);
}

const TABS: [string, string][] = [
  ['/', 'Status'],
  ['/virtual', 'Virtual servers'],
  ['/real', 'Real servers'],
  ['/health', 'Health checks'],
  ['/redundancy', 'Redundancy'],
  ['/settings', 'Settings'],
  ['/save', 'Save'],
];

/** Page chrome: header, tabs, flash message, body. */
export function layout(o: { title: string; path: string; user: string | null; csrf: string; body: Html; flash?: { ok?: string; error?: string }; refreshMs?: number }): string {
  const nav = o.user
    ? html`<nav aria-label="Sections"><ul>${TABS.map(([href, label]) => html`<li><a href="${href}"${o.path === href ? new Html(' aria-current="page"') : ''}>${label}</a></li>`)}</ul>
<form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${o.csrf}"><span>${o.user}</span> <button type="submit">Log out</button></form></nav>`
    : '';
  const flash = o.flash?.error
    ? html`<p class="flash error" role="alert">${o.flash.error}</p>`
    : o.flash?.ok
      ? html`<p class="flash ok" role="status">${o.flash.ok}</p>`
      : '';
  return `<!doctype html>
${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${o.csrf}"><meta name="refresh-ms" content="${o.refreshMs ?? 1000}">
<title>${o.title} — tunvs</title>
<link rel="stylesheet" href="/static/console.css"><link rel="stylesheet" href="/static/uPlot.min.css">
<script src="/static/uPlot.iife.min.js" defer></script><script src="/static/console.js" defer></script>
</head><body><header><h1><a href="/">tunvs</a> <span>${o.title}</span></h1>${nav}</header>
<main id="main">${flash}${o.body}</main></body></html>`}`;
}

/** Login page. */
export function loginPage(o: { error?: string; retryAfter?: number }): Html {
  return html`<form method="post" action="/login" class="login">
<h2>Log in</h2>
${o.error ? html`<p class="flash error" role="alert">${o.error}</p>` : ''}
<p><label for="user">User</label> <input id="user" name="user" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Log in</button></p></form>`;
}

function num(n: number, unit = ''): string {
  if (!Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  const s = a >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : a >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : a >= 1e4 ? `${(n / 1e3).toFixed(1)}K` : Number.isInteger(n) ? String(n) : n.toFixed(1);
  return s + unit;
}

/** A figure with its measurement time (the script shows the age). */
function fig(value: string, at: number, field: string): Html {
  return html`<span class="fig" data-field="${field}">${value}</span>`;
  void at;
}

function age(at: number): Html {
  return html`<span class="age" data-at="${at}" title="measured at ${new Date(at).toISOString()}"></span>`;
}

/** Health of a real server in a word, with its class. */
export function healthWord(h: RealServerHealth | undefined): { word: string; cls: string } {
  if (!h) return { word: 'not checked', cls: 'unchecked' };
  if (!h.checked) return { word: 'not checked', cls: 'unchecked' };
  return h.up ? { word: 'up', cls: 'up' } : { word: 'DOWN', cls: 'down' };
}

/** The last error of a real server's checkers. */
export function lastError(h: RealServerHealth | undefined): string {
  if (!h) return '';
  const bad = h.checkers.filter((c) => c.lastOk === false);
  return bad.map((c) => `${c.type}: ${c.lastDetail}`).join('; ');
}

/** Status: services and real servers with live rates, chart, health, VRRP. */
export function statusPage(o: { at: number; services: ServiceStatus[]; health: RealServerHealth[]; vrrp: VrrpInstanceStats[] | null; conntrack: { size: number; capacity: number; states: Record<string, number> | null }; drops: number }): Html {
  const hmap = healthMap(o.health);
  const rows = o.services.map(
    (s) => html`<tbody data-service="${s.key}"><tr class="svc">
<th scope="row">${s.proto} ${s.fwmark ? `fwmark ${s.fwmark}` : `${s.vip}:${s.port}`}</th><td>${s.scheduler}</td><td></td>
<td>${fig(num(s.conns), o.at, 'conns')}</td><td>${fig(num(s.rates.cps, '/s'), o.at, 'cps')}</td><td>${fig(num(s.rates.pps, '/s'), o.at, 'pps')}</td><td>${fig(num(s.rates.bps, 'B/s'), o.at, 'bps')}</td>
<td>${fig(num(s.dests.reduce((a, d) => a + d.activeConns, 0)), o.at, 'active')}</td><td>${fig(num(s.dests.reduce((a, d) => a + d.inactConns, 0)), o.at, 'inactive')}</td><td></td><td>${age(o.at)}</td></tr>
${s.dests.map((d) => {
  const h = healthWord(hmap.get(`${s.key}|${d.addr}:${d.port}`) ?? hmap.get(`*|${d.addr}:${d.port}`));
  return html`<tr class="dest" data-dest="${d.addr}:${d.port}"><td>→ ${d.addr}:${d.port}</td><td>${d.method}</td><td>${fig(String(d.weight), o.at, 'weight')}${d.weight === 0 ? html` <em class="quiesced">quiesced</em>` : ''}</td>
<td>${fig(num(d.conns), o.at, 'conns')}</td><td>${fig(num(d.rates.cps, '/s'), o.at, 'cps')}</td><td>${fig(num(d.rates.pps, '/s'), o.at, 'pps')}</td><td>${fig(num(d.rates.bps, 'B/s'), o.at, 'bps')}</td>
<td>${fig(num(d.activeConns), o.at, 'active')}</td><td>${fig(num(d.inactConns), o.at, 'inactive')}</td><td class="health ${h.cls}" data-field="health">${h.word}</td><td>${age(o.at)}</td></tr>`;
})}</tbody>`,
  );
  const states = Object.entries(o.conntrack.states ?? {}).filter(([, n]) => n > 0);
  return html`<section aria-labelledby="svc-h"><h2 id="svc-h">Virtual services</h2>
<table class="status" id="status-table"><caption>Counters and rates per virtual service and real server; rates are per second over the last sample.</caption>
<thead><tr><th scope="col">Service / real server</th><th scope="col">Scheduler / method</th><th scope="col">Weight</th><th scope="col">Conns</th><th scope="col">Conn/s</th><th scope="col">Pkt/s</th><th scope="col">Bytes/s</th><th scope="col">Active</th><th scope="col">Inactive</th><th scope="col">Health</th><th scope="col">Age</th></tr></thead>
${rows}</table>
${o.services.length === 0 ? html`<p>No virtual service yet: add one on <a href="/virtual">Virtual servers</a>.</p>` : ''}
</section>
<section aria-labelledby="chart-h"><h2 id="chart-h">Last minutes</h2>
<p><label for="chart-service">Service</label> <select id="chart-service">${o.services.map((s) => html`<option value="${s.key}">${s.key}</option>`)}</select></p>
<div id="chart" role="img" aria-label="Connections, packets and bytes per second of the chosen service over the last minutes"></div></section>
<section aria-labelledby="glance-h"><h2 id="glance-h">At a glance</h2><dl class="glance">
<dt>Connection table</dt><dd>${fig(`${o.conntrack.size} / ${o.conntrack.capacity}`, o.at, 'ct')} ${states.map(([k, n]) => html`<span class="pill">${k.replace('|', ' ')} ${n}</span>`)} ${age(o.at)}</dd>
<dt>Real servers down</dt><dd id="down-count">${o.health.filter((h) => h.checked && !h.up).length} of ${o.health.filter((h) => h.checked).length} checked</dd>
<dt>Packets dropped</dt><dd>${fig(num(o.drops), o.at, 'drops')} ${age(o.at)}</dd>
<dt>VRRP</dt><dd>${o.vrrp === null ? 'not running' : o.vrrp.map((v) => html`<span class="pill vrrp-${v.state.toLowerCase()}">${v.name} ${v.state} prio ${v.effectivePriority}</span> ${v.lastTransition ? age(v.lastTransition) : ''}`)}</dd>
</dl></section>`;
}

/** Health index: `serviceKey|addr:port` when known, else `*|addr:port`. */
export function healthMap(list: RealServerHealth[]): Map<string, RealServerHealth> {
  const m = new Map<string, RealServerHealth>();
  for (const h of list) {
    m.set(`${vsKey(h.virtualServer)}|${h.addr}:${h.port}`, h);
    m.set(`*|${h.addr}:${h.port}`, h);
  }
  return m;
}

/** keepalived's `[10.10.0.100]:tcp:80` / `FWM 1` → the console's service key. */
export function vsKey(vsName: string): string {
  const m = /^\[(.*)\]:(tcp|udp|sctp|none):(\d+)$/.exec(vsName);
  if (m) return `${m[2]}:${m[1]}:${m[3]}`;
  const f = /^FWM (\d+)$/.exec(vsName);
  return f ? `fwmark:${f[1]}` : vsName;
}

function hidden(csrf: string): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

/** Virtual servers: list, add, edit, delete. */
export function virtualPage(o: { csrf: string; services: ServiceStatus[]; schedulers: string[]; managed: Set<string>; edit?: ServiceStatus }): Html {
  const sched = (cur: string, id: string): Html =>
    html`<select id="${id}" name="scheduler">${o.schedulers.map((s) => html`<option value="${s}"${s === cur ? new Html(' selected') : ''}>${s}</option>`)}</select>`;
  const rows = o.services.map(
    (s) => html`<tr><th scope="row">${s.key}</th><td>${s.scheduler}</td><td>${s.persistent || '—'}</td><td>${s.count}</td><td>${o.managed.has(s.key) ? 'keepalived.conf' : 'tunvsd'}</td>
<td><a href="/virtual?edit=${encodeURIComponent(s.key)}">Edit</a> · <a href="/real?service=${encodeURIComponent(s.key)}">Real servers</a>
<form method="post" action="/ui/service/delete" class="inline">${hidden(o.csrf)}<input type="hidden" name="service" value="${s.key}"><button type="submit" aria-label="Delete ${s.key}">Delete</button></form></td></tr>`,
  );
  const e = o.edit;
  return html`<section aria-labelledby="vs-h"><h2 id="vs-h">Virtual servers</h2>
<table><thead><tr><th scope="col">Service</th><th scope="col">Scheduler</th><th scope="col">Persistence (s)</th><th scope="col">Real servers</th><th scope="col">Owned by</th><th scope="col">Actions</th></tr></thead><tbody>${rows}</tbody></table></section>
${
  e
    ? html`<section aria-labelledby="edit-h"><h2 id="edit-h">Edit ${e.key}</h2><form method="post" action="/ui/service/edit">${hidden(o.csrf)}<input type="hidden" name="service" value="${e.key}">
<p><label for="e-sched">Scheduler</label> ${sched(e.scheduler, 'e-sched')}</p>
<p><label for="e-flags">Scheduler flags</label> <input id="e-flags" name="schedFlags" placeholder="sh-port,sh-fallback"></p>
<p><label for="e-pers">Persistence timeout (s, 0 = none)</label> <input id="e-pers" name="persistent" type="number" min="0" value="${e.persistent}"></p>
<p><label for="e-mask">Persistence netmask</label> <input id="e-mask" name="netmask" placeholder="255.255.255.255"></p>
<p><button type="submit">Save service</button></p></form></section>`
    : ''
}
<section aria-labelledby="add-h"><h2 id="add-h">Add a virtual server</h2><form method="post" action="/ui/service/add">${hidden(o.csrf)}
<p><label for="a-proto">Protocol</label> <select id="a-proto" name="protocol"><option value="tcp">TCP</option><option value="udp">UDP</option><option value="fwmark">firewall mark</option></select></p>
<p><label for="a-addr">Virtual IP address</label> <input id="a-addr" name="addr" placeholder="10.10.0.100"></p>
<p><label for="a-port">Port</label> <input id="a-port" name="port" type="number" min="0" max="65535"></p>
<p><label for="a-mark">Firewall mark</label> <input id="a-mark" name="fwmark" type="number" min="1"></p>
<p><label for="a-sched">Scheduler</label> ${sched('wlc', 'a-sched')}</p>
<p><label for="a-flags">Scheduler flags</label> <input id="a-flags" name="schedFlags" placeholder="sh-port,sh-fallback"></p>
<p><label for="a-pers">Persistence timeout (s, 0 = none)</label> <input id="a-pers" name="persistent" type="number" min="0" value="0"></p>
<p><label for="a-mask">Persistence netmask</label> <input id="a-mask" name="netmask" placeholder="255.255.255.255"></p>
<p><button type="submit">Add virtual server</button></p></form></section>`;
}

/** Real servers of one service (or every service): weight, thresholds, quiesce, remove, add. */
export function realPage(o: { csrf: string; services: ServiceStatus[]; health: RealServerHealth[]; at: number }): Html {
  const hmap = healthMap(o.health);
  return html`${o.services.map((s) => {
    const id = s.key.replace(/[^a-zA-Z0-9]/g, '-');
    return html`<section aria-labelledby="rs-${id}"><h2 id="rs-${id}">Real servers of ${s.key}</h2>
<table class="real" data-service="${s.key}"><thead><tr><th scope="col">Real server</th><th scope="col">Method</th><th scope="col">Weight</th><th scope="col">Thresholds (upper / lower)</th><th scope="col">Active</th><th scope="col">Inactive</th><th scope="col">Health</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead><tbody>
${s.dests.map((d) => {
  const hk = hmap.get(`${s.key}|${d.addr}:${d.port}`) ?? hmap.get(`*|${d.addr}:${d.port}`);
  const h = healthWord(hk);
  const dk = `${d.addr}:${d.port}`;
  const rid = `${id}-${d.addr.replace(/\./g, '-')}-${d.port}`;
  return html`<tr data-dest="${dk}"><th scope="row">${dk}</th><td>${d.method}</td>
<td><form method="post" action="/ui/dest/weight" class="inline">${hidden(o.csrf)}<input type="hidden" name="service" value="${s.key}"><input type="hidden" name="dest" value="${dk}">
<label for="w-${rid}">Weight of ${dk}</label> <input id="w-${rid}" name="weight" type="number" min="0" value="${d.weight}" size="4"> <button type="submit">Set weight</button></form>
${d.weight === 0 ? html`<strong class="quiesced" data-field="state">quiesced</strong>` : ''}</td>
<td><form method="post" action="/ui/dest/thresholds" class="inline">${hidden(o.csrf)}<input type="hidden" name="service" value="${s.key}"><input type="hidden" name="dest" value="${dk}">
<label for="u-${rid}">Upper threshold of ${dk}</label> <input id="u-${rid}" name="upper" type="number" min="0" value="${d.upper}" size="4">
<label for="l-${rid}">Lower threshold of ${dk}</label> <input id="l-${rid}" name="lower" type="number" min="0" value="${d.lower}" size="4"> <button type="submit">Set thresholds</button></form></td>
<td>${d.activeConns}</td><td>${d.inactConns}</td><td class="health ${h.cls}" data-field="health">${h.word}</td><td class="lasterr" data-field="lasterror">${lastError(hk)}</td>
<td><form method="post" action="/ui/dest/${d.weight === 0 ? 'restore' : 'quiesce'}" class="inline">${hidden(o.csrf)}<input type="hidden" name="service" value="${s.key}"><input type="hidden" name="dest" value="${dk}"><button type="submit">${d.weight === 0 ? 'Bring back' : 'Quiesce'} ${dk}</button></form>
<form method="post" action="/ui/dest/delete" class="inline">${hidden(o.csrf)}<input type="hidden" name="service" value="${s.key}"><input type="hidden" name="dest" value="${dk}"><button type="submit">Remove ${dk}</button></form></td></tr>`;
})}</tbody></table>
<form method="post" action="/ui/dest/add" class="add-dest">${hidden(o.csrf)}<input type="hidden" name="service" value="${s.key}"><fieldset><legend>Add a real server to ${s.key}</legend>
<label for="ad-${id}">Address</label> <input id="ad-${id}" name="addr" placeholder="10.10.1.14" required>
<label for="ap-${id}">Port</label> <input id="ap-${id}" name="port" type="number" min="0" max="65535" value="${s.port}">
<label for="am-${id}">Method</label> <select id="am-${id}" name="method"><option value="masq">NAT (masq)</option><option value="route">Direct routing</option><option value="tunnel">Tunnel (IPIP)</option></select>
<label for="aw-${id}">Weight</label> <input id="aw-${id}" name="weight" type="number" min="0" value="1" size="4">
<button type="submit">Add real server</button></fieldset></form></section>`;
  })}
${o.services.length === 0 ? html`<p>No virtual service.</p>` : ''}`;
}

/** Health checks: each checker, its configuration and last result. */
export function healthPage(o: { health: RealServerHealth[]; keepalivedConf: string | null }): Html {
  if (o.keepalivedConf === null) return html`<p>No health checks: the configuration names no keepalived.conf (JSON key <code>keepalivedConf</code>).</p>`;
  return html`<p>Checkers of <code>${o.keepalivedConf}</code>.</p><table class="checks"><thead><tr><th scope="col">Virtual server</th><th scope="col">Real server</th><th scope="col">State</th><th scope="col">Transitions</th><th scope="col">Checker</th><th scope="col">Target</th><th scope="col">delay_loop / retry / delay_before_retry / connect_timeout</th><th scope="col">Last result</th><th scope="col">Took</th><th scope="col">Checks (failed)</th><th scope="col">Age</th></tr></thead><tbody>
${o.health.map((h) => {
  const w = healthWord(h);
  if (h.checkers.length === 0) return html`<tr><td>${h.virtualServer}</td><td>${h.addr}:${h.port}</td><td class="health unchecked">not checked</td><td colspan="8"></td></tr>`;
  return h.checkers.map(
    (c, i) => html`<tr data-dest="${h.addr}:${h.port}">${i === 0 ? html`<td rowspan="${h.checkers.length}">${h.virtualServer}</td><td rowspan="${h.checkers.length}">${h.addr}:${h.port}</td><td rowspan="${h.checkers.length}" class="health ${w.cls}" data-field="health">${w.word}</td><td rowspan="${h.checkers.length}">${h.transitions}</td>` : ''}
<td>${c.type}</td><td>${c.target}</td><td>${c.delayLoop} / ${c.retry} / ${c.delayBeforeRetry} / ${c.connectTimeout}</td><td>${c.lastOk === null ? 'not yet' : c.lastOk ? `ok: ${c.lastDetail}` : `failed: ${c.lastDetail}`}</td><td>${c.lastCheck ? `${(c.lastDuration * 1000).toFixed(1)} ms` : ''}</td><td>${c.checks} (${c.failures})</td><td>${c.lastCheck ? age(c.lastCheck) : ''}</td></tr>`,
  );
})}</tbody></table>`;
}

/** Redundancy: VRRP instances and sync groups, sync daemons. */
export function redundancyPage(o: { vrrp: { instances: VrrpInstanceStats[]; groups: VrrpSyncGroupStats[] } | null; sync: SyncDaemonStats[] | null }): Html {
  const vrrp =
    o.vrrp === null
      ? html`<p>VRRP is not running in this tunvsd (no <code>vrrp_instance</code> in use).</p>`
      : html`<table><thead><tr><th scope="col">Instance</th><th scope="col">VRID</th><th scope="col">Interface</th><th scope="col">State</th><th scope="col">Priority (base / effective)</th><th scope="col">Master</th><th scope="col">Peers</th><th scope="col">Virtual addresses</th><th scope="col">Adverts sent / received</th><th scope="col">Last change</th></tr></thead><tbody>
${o.vrrp.instances.map((v) => html`<tr><th scope="row">${v.name}</th><td>${v.vrid}</td><td>${v.interface}</td><td class="vrrp-${v.state.toLowerCase()}">${v.state}</td><td>${v.basePriority} / ${v.effectivePriority}</td><td>${v.masterAddress ?? ''}</td><td>${v.peers.join(', ') || 'multicast'}</td><td>${v.vips.join(', ')}</td><td>${v.advertsSent} / ${v.advertsReceived}</td><td>${v.lastTransition ? age(v.lastTransition) : 'never'}</td></tr>`)}</tbody></table>
<h3>Sync groups</h3>${o.vrrp.groups.length === 0 ? html`<p>None.</p>` : html`<ul>${o.vrrp.groups.map((g) => html`<li>${g.name}: ${g.state} (${g.instances.join(', ')})</li>`)}</ul>`}`;
  const sync =
    o.sync === null
      ? html`<p>The connection sync daemon is not running.</p>`
      : html`<table><thead><tr><th scope="col">Role</th><th scope="col">syncid</th><th scope="col">Interface</th><th scope="col">Group</th><th scope="col">Messages sent / received</th><th scope="col">Records sent / received / applied</th><th scope="col">Last message</th></tr></thead><tbody>
${o.sync.map((d) => html`<tr><td>${d.role}</td><td>${d.syncid}</td><td>${d.interface}</td><td>${d.group}:${d.port}</td><td>${d.messagesSent} / ${d.messagesReceived}</td><td>${d.recordsSent} / ${d.recordsReceived} / ${d.recordsApplied}</td><td>${d.lastMessage ? age(d.lastMessage) : 'never'}</td></tr>`)}</tbody></table>`;
  return html`<section aria-labelledby="vrrp-h"><h2 id="vrrp-h">VRRP</h2>${vrrp}</section><section aria-labelledby="sync-h"><h2 id="sync-h">Connection sync</h2>${sync}</section>`;
}

/** Settings: timeouts (editable), defence switches, configuration in use. */
/** The defence sysctls by their /proc/sys/net/ipv4/vs names, with what each value means. */
const DEFENSE_ROWS: [keyof DefenseSettings, string, (v: number) => string][] = [
  ['dropEntry', 'drop_entry', (v) => modeWord(v)],
  ['dropPacket', 'drop_packet', (v) => modeWord(v)],
  ['secureTcp', 'secure_tcp', (v) => modeWord(v)],
  ['amemthresh', 'amemthresh', (v) => `${v} pages`],
  ['amDroprate', 'am_droprate', (v) => `1 in ${v} when active`],
];

function modeWord(v: number): string {
  return ['off', 'automatic (off now)', 'automatic (on now)', 'always on'][v] ?? String(v);
}

export function settingsPage(o: { csrf: string; defense: DefenseSettings | null; timeouts: { tcp: number; tcpfin: number; udp: number }; switches: Record<string, unknown>; configFile: string; configKind: string; keepalivedConf: string | null; version: string }): Html {
  return html`<section aria-labelledby="to-h"><h2 id="to-h">Timeouts</h2><form method="post" action="/ui/timeouts">${hidden(o.csrf)}
<p><label for="t-tcp">TCP (s)</label> <input id="t-tcp" name="tcp" type="number" min="0" value="${o.timeouts.tcp}"></p>
<p><label for="t-fin">TCP FIN (s)</label> <input id="t-fin" name="tcpfin" type="number" min="0" value="${o.timeouts.tcpfin}"></p>
<p><label for="t-udp">UDP (s)</label> <input id="t-udp" name="udp" type="number" min="0" value="${o.timeouts.udp}"></p>
<p><button type="submit">Set timeouts</button></p></form></section>
<section aria-labelledby="dm-h"><h2 id="dm-h">Defence modes</h2>${o.defense ? html`<table><thead><tr><th scope="col">sysctl</th><th scope="col">value</th><th scope="col">meaning</th></tr></thead><tbody>${DEFENSE_ROWS.map(([k, name, say]) => html`<tr data-defense="${name}"><th scope="row"><code>${name}</code></th><td>${String(o.defense![k])}</td><td>${say(o.defense![k])}</td></tr>`)}</tbody></table>` : html`<p>not reported by this daemon</p>`}</section>
<section aria-labelledby="def-h"><h2 id="def-h">Connection table switches</h2><dl>${Object.entries(o.switches).map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl></section>
<section aria-labelledby="cf-h"><h2 id="cf-h">Configuration in use</h2><dl><dt>File</dt><dd><code>${o.configFile}</code> (${o.configKind})</dd><dt>keepalived.conf</dt><dd>${o.keepalivedConf ? html`<code>${o.keepalivedConf}</code>` : 'none'}</dd><dt>tunvs</dt><dd>${o.version}</dd></dl></section>`;
}

/** Save: the diff and the button. */
export function savePage(o: { csrf: string; file: string; diff: string; base: string; error?: string; note: string }): Html {
  return html`<section aria-labelledby="save-h"><h2 id="save-h">Save the running rules to ${o.file}</h2><p>${o.note}</p>
${o.error ? html`<p class="flash error" role="alert">${o.error}</p>` : ''}
${o.diff ? html`<pre class="diff" aria-label="Changes to the file">${o.diff}</pre><form method="post" action="/ui/save">${hidden(o.csrf)}<input type="hidden" name="base" value="${o.base}"><button type="submit">Write ${o.file}</button></form>` : html`<p>The file already holds the running rules: nothing to save.</p>`}</section>`;
}
