/** `/api/…`: the live view: screencast tiles and take-over. (Being built: registers nothing yet.) */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';

export function liveRoutes(_app: Hono, _ctx: DashboardContext): void {}
