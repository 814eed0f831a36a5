/** `/api/…`: crawl progress and health over time. (Being built: registers nothing yet.) */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';

export function crawlRoutes(_app: Hono, _ctx: DashboardContext): void {}
