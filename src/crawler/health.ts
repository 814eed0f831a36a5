/**
 * The health score a crawler's heartbeat carries, 0 (sick) to 1 (fine): the product of
 * - recent success: 1 − failure rate over the last 50 pages (errors and blocked answers),
 * - browser responsiveness: how fast the browser answers its CDP probe,
 * - memory headroom: how much of the machine's memory this process leaves free.
 */
import { freemem, totalmem } from 'node:os';

const WINDOW = 50;

export class HealthMeter {
  private readonly outcomes: boolean[] = [];
  private browserScore = 1;

  record(ok: boolean): void {
    this.outcomes.push(ok);
    if (this.outcomes.length > WINDOW) this.outcomes.shift();
  }

  /** `latencyMs` of the last probe, or `undefined` when the browser did not answer. */
  recordProbe(latencyMs: number | undefined): void {
    this.browserScore = latencyMs === undefined ? 0 : latencyMs < 250 ? 1 : latencyMs < 1000 ? 0.7 : 0.3;
  }

  score(): number {
    const failures = this.outcomes.filter((ok) => !ok).length;
    const success = this.outcomes.length === 0 ? 1 : 1 - failures / this.outcomes.length;
    const memory = Math.min(1, (freemem() / totalmem()) * 4); // full marks while a quarter of memory is free
    return Math.round(success * this.browserScore * memory * 100) / 100;
  }
}
