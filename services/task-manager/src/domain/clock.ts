// Time source for domain rules, so tests can drive time by hand.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
