/** What the fleet test's harness and its worker processes agree on. */
export interface WorkerConfig {
  store: string;
  tag: string;
  owner: string;
  log: string;
  leaseMs: number;
  /**
   * A file the harness writes once every worker is ready (starting 16 processes can take seconds on
   * a busy machine): it holds the Date.now() at which to stop.
   */
  go: string;
  /** Seeds the worker's pauses and renewals: drawn from the test's seed, so a seed replays a fleet. */
  seed: number;
  /** Takes one session and holds it until killed. */
  victim?: boolean;
}

/** The origin whose localStorage `releases` counts the releases of a session. */
export const ORIGIN = 'https://fleet.test';
