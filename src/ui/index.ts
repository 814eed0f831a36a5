/** The dashboard behind `raptor ui` (loaded by that command only). */
export { startDashboard, type Dashboard, type DashboardOptions } from './server.js';
export { isLoopback } from './security.js';
