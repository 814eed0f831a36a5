/** `/api/…`: the pool: free, leased, retired; lease holders. (Being built: registers nothing yet.) */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';

export function fleetRoutes(_app: Hono, _ctx: DashboardContext): void {}
