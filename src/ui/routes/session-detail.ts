/** `/api/…`: one session's page: masked details and its actions. (Being built: registers nothing yet.) */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';

export function sessionDetailRoutes(_app: Hono, _ctx: DashboardContext): void {}
