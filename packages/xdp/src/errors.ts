/** Typed errors of @tunvs/xdp, with a sentence a person understands. */

/** Linux errno numbers used in messages (x86-64 / generic values). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  EBADFD: 77,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  ENETDOWN: 100,
  ENOBUFS: 105,
} as const;

/** An error from opening or configuring a link, loading the program, or a write. */
export class XdpError extends Error {
  /** errno name, e.g. 'EPERM', or 'EINVAL'/'ENOTSUP' for our own checks */
  readonly code: string;
  /** positive errno number (0 when unknown) */
  readonly errno: number;
  /** the failing call, e.g. 'bind(AF_XDP)', 'BPF_PROG_LOAD', 'validate' */
  readonly syscall: string;
  /** the verifier's log when BPF_PROG_LOAD failed */
  readonly log?: string;

  constructor(message: string, code: string, errno: number, syscall: string, log?: string) {
    super(message);
    this.name = 'XdpError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (log !== undefined) this.log = log;
  }
}

/** A validation error (bad option) naming the option. */
export function invalid(message: string): XdpError {
  return new XdpError(message, 'EINVAL', ERRNO.EINVAL, 'validate');
}

interface NativeErrorShape {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  log?: unknown;
}

/** The fields of an error thrown by the addon. */
export function nativeError(err: unknown): { code: string; errno: number; syscall: string; message: string; log?: string } {
  const e = (err ?? {}) as NativeErrorShape;
  const code = typeof e.code === 'string' ? e.code : 'EUNKNOWN';
  const errno = typeof e.errno === 'number' ? e.errno : ((ERRNO as Record<string, number>)[code] ?? 0);
  const syscall = typeof e.syscall === 'string' ? e.syscall : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const out: { code: string; errno: number; syscall: string; message: string; log?: string } = { code, errno, syscall, message };
  if (typeof e.log === 'string') out.log = e.log;
  return out;
}

/** A hint for a failed call, or '' when there is nothing useful to add. */
export function hintFor(syscall: string, code: string): string {
  const priv = code === 'EPERM' || code === 'EACCES';
  if (syscall === 'socket(AF_XDP)') {
    if (code === 'EAFNOSUPPORT') return 'the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)';
    if (priv) return 'needs CAP_NET_RAW';
  }
  if (syscall === 'socket(AF_PACKET)') {
    if (code === 'EAFNOSUPPORT') return 'the kernel has no packet sockets (CONFIG_PACKET)';
    if (priv) return 'needs CAP_NET_RAW';
  }
  if (syscall.startsWith('BPF_')) {
    if (code === 'ENOSYS') return 'the kernel has no bpf(2) (CONFIG_BPF_SYSCALL)';
    if (priv) return 'needs CAP_BPF and CAP_NET_ADMIN (or root)';
  }
  if (syscall === 'BPF_LINK_CREATE') {
    if (code === 'EBUSY' || code === 'EEXIST') return 'another XDP program is attached to the interface';
    if (code === 'EOPNOTSUPP') return 'the driver has no native XDP';
    if (code === 'EINVAL') return 'the kernel is older than 5.9 (no XDP links) or the driver refused the program (MTU too large for XDP?)';
  }
  if (syscall === 'bind(AF_XDP)') {
    if (code === 'EOPNOTSUPP') return 'the driver cannot do zero-copy AF_XDP';
    if (code === 'EBUSY') return 'the queue already has an AF_XDP socket (another process?)';
    if (code === 'EINVAL') return 'no such queue, or the UMEM is shared in a way the kernel refuses';
    if (code === 'ENETDOWN') return 'the interface is down';
  }
  if (syscall === 'setsockopt(XDP_UMEM_REG)' && (code === 'ENOMEM' || code === 'ENOBUFS' || priv))
    return 'cannot lock the UMEM in memory (RLIMIT_MEMLOCK)';
  if (priv) return 'needs CAP_NET_ADMIN';
  if (syscall.startsWith('SIOC') && (code === 'ENODEV' || code === 'ENXIO')) return 'no such interface in this network namespace';
  return '';
}

/** Turn an error thrown by the addon into an XdpError; `context` is appended. */
export function fromNative(err: unknown, context: string): XdpError {
  if (err instanceof XdpError) return err;
  const e = nativeError(err);
  let message: string;
  if (e.syscall) {
    const hint = hintFor(e.syscall, e.code);
    message = `${e.syscall} failed: ${e.code}${hint ? ` (${hint})` : ''}`;
  } else {
    message = e.message;
  }
  if (context) message += `, ${context}`;
  return new XdpError(message, e.code, e.errno, e.syscall || 'validate', e.log);
}

/** Run a native call and rethrow its failure as an XdpError. */
export function call<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err, context);
  }
}
