/** Typed errors of the TUN/TAP layer, with a sentence a person understands. */

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
  ENAMETOOLONG: 36,
  EBADFD: 77,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ENOBUFS: 105,
  EADDRNOTAVAIL: 99,
} as const;

/** An error from opening or configuring a device, or from a write. */
export class TunTapError extends Error {
  /** errno name, e.g. 'EPERM', or 'ENAMETOOLONG'/'EMSGSIZE' for our own checks */
  readonly code: string;
  /** positive errno number (0 when unknown) */
  readonly errno: number;
  /** the failing call, e.g. 'TUNSETIFF', 'SIOCSIFMTU', 'write' */
  readonly syscall: string;

  constructor(message: string, code: string, errno: number, syscall: string) {
    super(message);
    this.name = 'TunTapError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

const privileged = new Set(['EPERM', 'EACCES']);

/** A hint for a failed call, or '' when there is nothing useful to add. */
export function hintFor(syscall: string, code: string): string {
  if (syscall === 'open /dev/net/tun') {
    if (code === 'ENOENT' || code === 'ENODEV') return 'no TUN/TAP support: load the tun module or create /dev/net/tun';
    if (privileged.has(code)) return 'no permission to open /dev/net/tun';
  }
  if (privileged.has(code)) return 'needs CAP_NET_ADMIN';
  if (syscall === 'TUNSETIFF') {
    if (code === 'EBUSY') return 'the device is already attached: another process holds it, or it was created without multi-queue';
    if (code === 'EINVAL') return 'an existing device with this name has different flags (TUN vs TAP, multi-queue or not)';
  }
  if (syscall.startsWith('SIOC') && (code === 'ENODEV' || code === 'ENXIO')) return 'no such interface in this network namespace';
  if (syscall === 'SIOCSIFMTU' && code === 'EINVAL') return 'MTU out of range for this device';
  if (syscall === 'TUNSETOFFLOAD' && code === 'EINVAL') return 'the kernel refuses these offload flags';
  return '';
}

interface NativeErrorShape {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
}

/**
 * Turn an error thrown by the addon into a TunTapError. `context` is appended, e.g.
 * "opening TUN device tt0".
 */
export function fromNative(err: unknown, context: string): TunTapError {
  if (err instanceof TunTapError) return err;
  const e = (err ?? {}) as NativeErrorShape;
  const code = typeof e.code === 'string' ? e.code : 'EUNKNOWN';
  const errno = typeof e.errno === 'number' ? e.errno : ((ERRNO as Record<string, number>)[code] ?? 0);
  const syscall = typeof e.syscall === 'string' ? e.syscall : '';
  let message: string;
  if (syscall) {
    const hint = hintFor(syscall, code);
    message = `${syscall} failed: ${code}${hint ? ` (${hint})` : ''}`;
  } else {
    message = typeof e.message === 'string' ? e.message : String(err);
  }
  if (context) message += `, ${context}`;
  return new TunTapError(message, code, errno, syscall || 'validate');
}

/** Run a native call and rethrow its failure as a TunTapError. */
export function call<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err, context);
  }
}
