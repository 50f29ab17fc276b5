/** Time, passed in so tests can move it (hold expiry, quota windows). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
