/** The part of a lease every store shares: its state and the handle given to the holder. */
import { RaptorError } from '../core/errors.js';
import type { Lease } from './types.js';

export interface LeaseState {
  owner: string;
  token: string;
  expiresAt: string;
}

export function leaseIsHeld(state: LeaseState, now = Date.now()): boolean {
  return Date.parse(state.expiresAt) > now;
}

export interface LeaseBackend {
  /** Atomically replaces the lease `expected` with `next` (or removes it); false when `expected` is no longer current. */
  replace(expected: LeaseState, next: LeaseState | undefined): Promise<boolean>;
}

export function createLeaseHandle(name: string, initial: LeaseState, defaultTtlMs: number, backend: LeaseBackend): Lease {
  let state = initial;
  const lost = (): RaptorError =>
    new RaptorError('LOCKED', `The lease on \`${name}\` held by \`${state.owner}\` was lost (it expired and was taken over). Acquire a new one.`);
  return {
    name,
    owner: initial.owner,
    token: initial.token,
    get expiresAt() {
      return state.expiresAt;
    },
    async renew(ttlMs = defaultTtlMs) {
      const next = { ...state, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
      if (!(await backend.replace(state, next))) throw lost();
      state = next;
    },
    async release() {
      await backend.replace(state, undefined); // releasing a lease already taken over is a no-op
    },
  };
}
