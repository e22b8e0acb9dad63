/**
 * keepalived's VRRP timers, in integer microseconds exactly as it computes them
 * (VRRP_TIMER_SKEW, VRRP_MS_DOWN_TIMER in keepalived/include/vrrp.h):
 *
 *   v2 skew = (256 - priority) * 1 000 000 / 256           (RFC 3768: not scaled by the interval)
 *   v3 skew = ((256 - priority) * (master_adver_int / 10 000) * 625) / 16   (RFC 5798, scaled)
 *   master down = down_timer_adverts (3) * master_adver_int + skew
 *
 * Examples: priority 100 at 1 s gives 3 609 375 µs; priority 150 at 1 s 3 414 062 µs; v3
 * priority 100 at 0.1 s: 300 000 + 60 937 = 360 937 µs.
 */

/** Microseconds per second (keepalived's TIMER_HZ). */
export const TIMER_HZ = 1_000_000;
/** Microseconds per centisecond (TIMER_CENTI_HZ). */
export const TIMER_CENTI_HZ = 10_000;

/** Skew_Time in µs for a priority and the master's advert interval (µs). */
export function skewUs(version: 2 | 3, priority: number, masterAdverIntUs: number): number {
  if (version === 2) return Math.floor(((256 - priority) * TIMER_HZ) / 256);
  return Math.floor(((256 - priority) * Math.floor(masterAdverIntUs / TIMER_CENTI_HZ) * 625) / 16);
}

/** Master_Down_Interval in µs. */
export function masterDownUs(version: 2 | 3, priority: number, masterAdverIntUs: number, downTimerAdverts = 3): number {
  return downTimerAdverts * masterAdverIntUs + skewUs(version, priority, masterAdverIntUs);
}

/** The advert-interval field for an interval in µs: v2 whole seconds, v3 centiseconds. */
export function adverIntField(version: 2 | 3, adverIntUs: number): number {
  return version === 2 ? Math.floor(adverIntUs / TIMER_HZ) : Math.floor(adverIntUs / TIMER_CENTI_HZ) & 0x0fff;
}

/** The interval in µs an advert's field means. */
export function adverIntUsOf(version: 2 | 3, field: number): number {
  return version === 2 ? field * TIMER_HZ : (field & 0x0fff) * TIMER_CENTI_HZ;
}
