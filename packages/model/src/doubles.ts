/**
 * Counters that stay fast past 2^31.
 *
 * V8 gives an object's field the representation of the first value stored in it: a
 * counter that starts at 0 is a small-integer field, and the first value past 2^31 (2 GiB
 * in a byte total: seconds of a 10 Gbit/s stream) changes it to a double field. That
 * change gives every object of the shape a new map and deoptimises every optimised
 * function that reads or bumps the field; for the totals the data path bumps per packet,
 * that is the whole per-packet path, thrown away and compiled again in the middle of
 * traffic, once per field. A field whose first value was a fraction is a double field from
 * the start and stays one when set back to 0, so crossing 2^31 changes nothing.
 */

/**
 * Make every numeric own field of `o` a double field (see above), keeping its value. Call
 * it once the fields exist (field initialisers run before a constructor's body), before
 * the object is used.
 */
export function doubleCounters(o: object): void {
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v)) continue;
    r[k] = 0.5;
    r[k] = v;
  }
}
