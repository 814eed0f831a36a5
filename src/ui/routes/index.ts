/** Every part of the dashboard's API, one module each: the server registers them in this order. */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';
import { crawlRoutes } from './crawls.js';
import { fleetRoutes } from './fleet.js';
import { liveRoutes } from './live.js';
import { sessionDetailRoutes } from './session-detail.js';
import { sessionRoutes } from './sessions.js';

export type RegisterRoutes = (app: Hono, ctx: DashboardContext) => void;

export const ROUTES: readonly RegisterRoutes[] = [sessionRoutes, sessionDetailRoutes, liveRoutes, crawlRoutes, fleetRoutes];
