/** Every part of the dashboard's API, one module each: the server registers them in this order. */
import type { Hono } from 'hono';
import type { DashboardContext } from '../context.js';
import { sessionRoutes } from './sessions.js';

export type RegisterRoutes = (app: Hono, ctx: DashboardContext) => void;

export const ROUTES: readonly RegisterRoutes[] = [sessionRoutes];
