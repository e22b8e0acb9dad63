/**
 * Red Hat Piranha's lvs.cf → keepalived.conf (reference §9.4), for `tunvsd --import-lvs-cf`.
 */
import { networkInterfaces } from 'node:os';
import { piranhaRole, piranhaVrrp } from '@tunvs/keepalived';
import type { PiranhaRole } from '@tunvs/keepalived';

/** A syntax error in lvs.cf, with its line number. */
export class LvsCfError extends Error {
  override readonly name = 'LvsCfError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

interface Block {
  kind: 'global' | 'virtual' | 'server' | 'failover';
  name: string;
  keys: Map<string, string>;
  children: Block[];
  line: number;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/** Parses lvs.cf into blocks (`key = value` lines; `virtual`/`server`/`failover` blocks). */
export function parseLvsCf(text: string): Block {
  const root: Block = { kind: 'global', name: '', keys: new Map(), children: [], line: 0 };
  const stack: Block[] = [root];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const top = stack[stack.length - 1]!;
    if (s === '}') {
      if (stack.length === 1) throw new LvsCfError(line, "unexpected '}'");
      stack.pop();
      return;
    }
    const blk = /^(virtual|server|failover)\s+(\S+)\s*\{$/.exec(s);
    if (blk) {
      const kind = blk[1] as Block['kind'];
      if ((kind === 'server') !== (top.kind === 'virtual')) throw new LvsCfError(line, `'${kind}' block not allowed here`);
      const b: Block = { kind, name: blk[2]!, keys: new Map(), children: [], line };
      top.children.push(b);
      stack.push(b);
      return;
    }
    const kv = /^(\S+)\s+=\s*(.*)$/.exec(s);
    if (!kv) throw new LvsCfError(line, `expected 'key = value' (with spaces around '='): ${s}`);
    top.keys.set(kv[1]!, unquote(kv[2]!));
  });
  if (stack.length > 1) throw new LvsCfError(stack[stack.length - 1]!.line, 'block not closed');
  return root;
}

const KIND: Record<string, string> = { nat: 'NAT', direct: 'DR', tunnel: 'TUN' };
const q = (s: string): string => (/^[^\s"#!{}]+$/.test(s) ? s : `"${s.replace(/"/g, '')}"`);

/** The IPv4 addresses of this host (to tell primary from backup). */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4')
    .map((a) => a!.address);
}

/**
 * Prints the keepalived.conf equivalent of an lvs.cf (for `role`, default: from this host's
 * addresses; `warn` hears when none of them is lvs.cf's and the primary's role was taken).
 */
export function importLvsCf(text: string, opts: { role?: PiranhaRole; warn?: (message: string) => void } = {}): string {
  const root = parseLvsCf(text);
  const g = root.keys;
  const out: string[] = ['! keepalived.conf generated from lvs.cf by tunvs', ''];
  const network = (g.get('network') ?? 'nat').toLowerCase();
  const lbKind = KIND[network];
  if (lbKind === undefined) throw new LvsCfError(0, `unknown network '${network}'`);
  out.push('global_defs {', `    router_id ${q(g.get('primary') ?? 'lvs')}`, '}', '');

  const virtuals = root.children.filter((b) => b.kind === 'virtual');
  // redundancy (primary/backup, pulse's heartbeat) as a VRRP instance: vrrp-piranha.ts
  if (g.has('backup') || g.get('backup_active') === '1' || g.has('primary')) {
    let role = opts.role;
    if (role === undefined) {
      const here = hostAddresses();
      role = piranhaRole(g, here);
      const named = ['primary', 'primary_private', 'backup', 'backup_private'].map((k) => g.get(k)).filter((a): a is string => a !== undefined);
      if (!named.some((a) => here.includes(a))) {
        const why = `this host has none of lvs.cf's router addresses (${named.join(', ')}): written for the ${role}; --router primary|backup chooses`;
        out.push(`! ${why}`, '');
        opts.warn?.(why);
      }
    }
    out.push(...piranhaVrrp(g, virtuals.map((v) => v.keys), role));
  }

  for (const v of virtuals) {
    const k = v.keys;
    if (k.get('active') === '0') {
      out.push(`! virtual ${v.name} is inactive in lvs.cf - omitted`, '');
      continue;
    }
    const addr = (k.get('address') ?? '').split(/\s+/)[0] ?? '';
    const port = k.get('port') ?? '80';
    const fwmark = k.get('fwmark');
    const timeout = k.get('timeout') ?? '10';
    out.push(`! virtual ${v.name}`);
    out.push(fwmark && fwmark !== '0' ? `virtual_server fwmark ${fwmark} {` : `virtual_server ${addr} ${port} {`);
    out.push(`    delay_loop ${timeout}`);
    out.push(`    lb_algo ${k.get('scheduler') ?? 'wlc'}`);
    out.push(`    lb_kind ${lbKind}`);
    if (!(fwmark && fwmark !== '0')) out.push(`    protocol ${(k.get('protocol') ?? 'tcp').toUpperCase()}`);
    const persistent = Number(k.get('persistent') ?? '0');
    if (persistent > 0) out.push(`    persistence_timeout ${persistent}`);
    if (k.get('pmask') && persistent > 0) out.push(`    persistence_granularity ${k.get('pmask')}`);
    if (k.get('sorry_server')) out.push(`    sorry_server ${k.get('sorry_server')!.split(/\s+/)[0]} ${port}`);
    if (k.get('quiesce_server') === '1') out.push('    inhibit_on_failure');
    if (k.get('reentry')) out.push(`    ! reentry ${k.get('reentry')} s has no equivalent: one success brings a server back`);
    if (k.get('load_monitor') && k.get('load_monitor') !== 'none') out.push(`    ! load_monitor ${k.get('load_monitor')} has no equivalent (closest: MISC_CHECK with misc_dynamic)`);
    const send = k.get('send');
    const expect = k.get('expect');
    const defaultHttp = port === '80' && send === undefined && expect === undefined;
    const httpSend = send !== undefined ? /^GET\s+(\S+)\s+HTTP\/1\.[01]/.exec(send) : null;
    for (const s of v.children) {
      const sk = s.keys;
      if (sk.get('active') === '0') {
        out.push(`    ! server ${s.name} is inactive in lvs.cf - omitted`);
        continue;
      }
      const sport = lbKind === 'NAT' ? (sk.get('port') ?? port) : port;
      out.push(`    ! server ${s.name}`);
      out.push(`    real_server ${(sk.get('address') ?? '').split(/\s+/)[0]} ${fwmark && fwmark !== '0' && lbKind !== 'NAT' ? '' : sport}`.trimEnd() + ' {');
      out.push(`        weight ${sk.get('weight') ?? '1'}`);
      if (defaultHttp || (httpSend && (expect === undefined || expect === 'HTTP'))) {
        out.push(
          '        HTTP_GET {',
          '            url {',
          `                path ${q(httpSend ? httpSend[1]! : '/')}`,
          '                status_code 100-599',
          '            }',
          `            connect_timeout ${timeout}`,
          '            retry 0',
          '        }',
        );
      } else {
        if (send !== undefined || expect !== undefined || k.get('send_program')) {
          out.push(`        ! lvs.cf send/expect (${JSON.stringify(send ?? k.get('send_program') ?? '')} / ${JSON.stringify(expect ?? '')}) has no keepalived equivalent: TCP connect check`);
        }
        const cport = fwmark && fwmark !== '0' ? `            connect_port ${sk.get('port') ?? port}\n` : '';
        out.push('        TCP_CHECK {', ...(cport ? [cport.trimEnd()] : []), `            connect_timeout ${timeout}`, '            retry 0', '        }');
      }
      out.push('    }');
    }
    out.push('}', '');
  }
  return out.join('\n');
}
