/** What every route of the dashboard gets: the manager, the session index, the event feed. */
import type { Logger } from '../env/log.js';
import type { SessionManager } from '../manager.js';
import type { EventHub } from './event-hub.js';
import type { SessionIndex } from './session-index.js';

export interface DashboardContext {
  manager: SessionManager;
  index: SessionIndex;
  hub: EventHub;
  logger: Logger;
  /** Work to stop when the dashboard stops (pollers, screencasts, browser connections). */
  onClose(stop: () => void | Promise<void>): void;
}
