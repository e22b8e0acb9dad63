import { ControlError } from '@tunvs/model';
import type { ControlErrorCode } from '@tunvs/model';

/** Throw a ControlError for operation `op`. */
export function fail(code: ControlErrorCode, op: string, message: string): never {
  throw new ControlError(code, message, op);
}
