export { SessionManager } from './manager.js';
export type { EnsureOptions, EnsureResult, OpenOptions, RefreshLeaseOptions, RefreshResult, SaveOptions, SaveSource, SessionInfo, SessionRestoreOptions, Stats, ValidateOptions } from './manager.js';
export type { Recipe, LoginResult } from './login/ensure.js';
export { loadRecipe, recordedRecipe } from './login/recipe.js';
export type { RecipeRef, LoadedRecipe } from './login/recipe.js';
export { keepSessions } from './keeper/keeper.js';
export type { KeepOptions, KeepSummary, KeepEvent, KeepStatus } from './keeper/keeper.js';
export type { RestoredSession, RestoreMode, RestoreOptions } from './browser/restore.js';
export type { CleanupOptions, CleanupResult } from './maintenance/cleanup.js';
export type { ValidationResult } from './core/validate.js';
export { RaptorError, isRaptorError, exitCodeFor, ERROR_CODES } from './core/errors.js';
export type { ErrorCode, Issue } from './core/errors.js';
export { fileNameFor, assertValidName } from './core/names.js';
export { SCHEMA_VERSION, parseRecordText, serializeRecord, newRecord } from './core/record.js';
export type { SessionRecord, SessionSummary, StorageState, SessionStorageMap, BrowserType, Cookie } from './core/record.js';
export { createFileStore, FileSessionStore } from './store/file.js';
export type { FileStoreOptions } from './store/file.js';
export { createMemoryStore, MemorySessionStore } from './store/memory.js';
export type {
  SessionStore,
  SessionFilter,
  Lease,
  LeaseOptions,
  StoreEvent,
  PutOptions,
  ScanEntry,
  AcquireOptions,
  PoolLease,
  ReleaseOptions,
  ReleaseOutcome,
  StoreMaintenance,
  NativeAcquire,
  NativeUpdate,
  ConnectionFeed,
  LeaseListing,
  HeldLease,
  FeedConnectionChange,
  UpdateFn,
} from './store/types.js';
// The generic behaviour over any store (a store used without a manager): the pool, read-modify-write, maintenance.
export { acquire } from './store/pool.js';
export { updateSession } from './store/update.js';
export { hasConnectionFeed, hasLeaseListing, heldLeases, hasMaintenance, hasNativeAcquire, hasNativeUpdate, quarantineScanned, scanStore, sweepStore } from './store/capabilities.js';
export { openStore } from './store/open-store.js';
export type { OpenStoreOptions } from './store/open-store.js';
export { poolStats, DEFAULT_MAX_USAGE_COUNT, DEFAULT_MAX_ERROR_SCORE } from './store/pool.js';
export type { PoolStats } from './store/pool.js';
export { exportRecords, importRecords, parseBundle } from './maintenance/transfer.js';
export type { ImportResult } from './maintenance/transfer.js';
export { findBrowser, chromiumArgs } from './browser/find.js';
export { contextOptionsFor, identityContextOptions } from './browser/context-options.js';
export type { Identity } from './core/identity.js';
export { launchKeepAlive, stopKeepAlive } from './browser/keep-alive.js';
export type { KeptAliveBrowser } from './browser/keep-alive.js';
export { probeCdp } from './browser/connect.js';
export { createLogger } from './env/log.js';
export { resolvePaths } from './env/paths.js';
