/** What every route of the dashboard gets: the manager, the session index, the event feed. */
import type { Logger } from '../env/log.js';
import type { SessionManager } from '../manager.js';
import type { BrowserProbes } from './browser-probes.js';
import type { EventHub } from './event-hub.js';
import type { SessionIndex } from './session-index.js';

export interface DashboardContext {
  manager: SessionManager;
  index: SessionIndex;
  hub: EventHub;
  /** Whether recorded browsers live: one cache for the table and the live view, so neither probes what the other just did. */
  probes: BrowserProbes;
  logger: Logger;
  /** Work to stop when the dashboard stops (pollers, screencasts, browser connections). */
  onClose(stop: () => void | Promise<void>): void;
}
