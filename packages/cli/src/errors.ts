/**
 * ipvsadm's `ipvs_strerror`: the message for an error code depends on the operation that
 * failed (EEXIST on add-service is "Service already exists", on add-server "Destination
 * already exists", ...), with generic messages and finally the C library's strerror text.
 */

const BY_OP: Record<string, Record<string, string>> = {
  addService: { EEXIST: 'Service already exists', ENOENT: 'Scheduler or persistence engine not found' },
  editService: { ESRCH: 'No such service', ENOENT: 'Scheduler or persistence engine not found' },
  deleteService: { ESRCH: 'No such service' },
  zero: { ESRCH: 'No such service' },
  addDest: { ESRCH: 'Service not defined', EEXIST: 'Destination already exists' },
  editDest: { ESRCH: 'Service not defined', ENOENT: 'No such destination' },
  deleteDest: { ESRCH: 'Service not defined', ENOENT: 'No such destination' },
  startDaemon: { EEXIST: 'Daemon has already run' },
  stopDaemon: { ESRCH: 'No daemon is running' },
  listServices: { ESRCH: 'No such service' },
  getService: { ESRCH: 'No such service' },
  listDests: { ESRCH: 'No such service' },
};

const ANY_OP: Record<string, string> = {
  EPERM: 'Permission denied (you must be root)',
  EINVAL: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  ENOPROTOOPT: 'Protocol not available',
  ENOMEM: 'Memory allocation problem',
  EOPNOTSUPP: 'Operation not supported with IPv6',
  EAFNOSUPPORT: 'Operation not supported with specified address family',
  EMSGSIZE: 'Module is wrong version',
};

const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range',
  ENOMEM: 'Cannot allocate memory',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EBUSY: 'Device or resource busy',
  EIO: 'Input/output error',
  ENODEV: 'No such device',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

/** The line ipvsadm prints for error `code` raised by control operation `op`. */
export function controlErrorMessage(code: string, op: string): string {
  return BY_OP[op]?.[code] ?? ANY_OP[code] ?? STRERROR[code] ?? `Unknown error ${code}`;
}
