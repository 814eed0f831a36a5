/**
 * Turns an arbitrary value into plain JSON, or explains why it cannot be.
 *
 * Session files are written only from values that went through here: no `undefined` in arrays,
 * functions, symbols, `BigInt`, class instances, cycles or non-finite numbers; keys that could
 * pollute prototypes (`__proto__`, `constructor`, `prototype`) are dropped; nesting is bounded.
 * Object properties that are `undefined` are dropped, as `JSON.stringify` would.
 */
import type { Issue } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const DANGEROUS_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface SanitizeResult {
  value: Json | undefined;
  issues: Issue[];
}

export interface SanitizeOptions {
  /** Report strings and keys holding a lone UTF-16 surrogate (not encodable as UTF-8). Off for stored data, which round-trips as JSON escapes. @default false */
  wellFormed?: boolean;
}

/** @param maxDepth nesting limit; deeper values are reported, not copied (and never recursed into). */
export function sanitizeJson(input: unknown, path = '', maxDepth = Infinity, options: SanitizeOptions = {}): SanitizeResult {
  const issues: Issue[] = [];
  const seen = new Set<object>();

  const visit = (value: unknown, at: string, depth: number): Json | undefined => {
    if (typeof value === 'string' && options.wellFormed && !value.isWellFormed()) {
      issues.push({ code: 'NOT_TEXT', message: 'a string holds a lone UTF-16 surrogate, which is not valid text', path: at });
      return undefined;
    }
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return value;
      issues.push({ code: 'NOT_JSON', message: `${value} is not a JSON number`, path: at });
      return undefined;
    }
    if (typeof value !== 'object') {
      issues.push({ code: 'NOT_JSON', message: `a ${typeof value} cannot be stored as JSON`, path: at });
      return undefined;
    }
    if (depth > maxDepth) {
      issues.push({ code: 'TOO_DEEP', message: `nested deeper than ${maxDepth} levels`, path: at });
      return undefined;
    }
    if (seen.has(value)) {
      issues.push({ code: 'CYCLE', message: 'refers to itself (a cycle)', path: at });
      return undefined;
    }
    seen.add(value);
    try {
      if (Array.isArray(value)) {
        return value.map((item, i) => {
          const child = visit(item, join(at, String(i)), depth + 1);
          if (item === undefined) issues.push({ code: 'NOT_JSON', message: 'undefined inside an array', path: join(at, String(i)) });
          return child ?? null;
        });
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const kind = (value as object).constructor?.name ?? 'object';
        issues.push({ code: 'NOT_JSON', message: `a ${kind} is not plain JSON; store a string or plain object instead`, path: at });
        return undefined;
      }
      const out: { [key: string]: Json } = {};
      for (const key of Object.keys(value)) {
        if (DANGEROUS_KEYS.has(key)) continue;
        if (options.wellFormed && !key.isWellFormed()) {
          issues.push({ code: 'NOT_TEXT', message: 'a key holds a lone UTF-16 surrogate, which is not valid text', path: at });
          continue;
        }
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        const child = visit(item, join(at, key), depth + 1);
        if (child !== undefined) out[key] = child;
      }
      return out;
    } finally {
      seen.delete(value);
    }
  };

  return { value: visit(input, path, 0), issues };
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
