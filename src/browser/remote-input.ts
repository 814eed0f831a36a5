/**
 * Input for a take-over: a person's mouse, wheel, keys and typing on the picture of a tab,
 * replayed into that tab over CDP (`Input.dispatchMouseEvent`, `Input.dispatchKeyEvent`,
 * `Input.insertText`), and its navigation (go to a URL, back, forward, reload).
 *
 * Pointer positions arrive in pixels of the image as displayed (its on-screen size may be
 * anything) and are scaled to the viewport the frame shows (its metadata, CSS pixels).
 */
import type { CDPSession } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import type { FrameMetadata } from './screencast.js';

export type MouseButton = 'none' | 'left' | 'middle' | 'right';

export interface MouseInput {
  type: 'mouseMoved' | 'mousePressed' | 'mouseReleased' | 'mouseWheel';
  /** Position on the displayed image. */
  x: number;
  y: number;
  /** The displayed image's size, the scale of `x` and `y`. */
  displayWidth: number;
  displayHeight: number;
  button?: MouseButton;
  clickCount?: number;
  deltaX?: number;
  deltaY?: number;
  /** CDP's bit field: Alt 1, Ctrl 2, Meta 4, Shift 8. */
  modifiers?: number;
}

export interface KeyInput {
  type: 'keyDown' | 'keyUp';
  /** `KeyboardEvent.key`, e.g. `a`, `Enter`. */
  key: string;
  /** `KeyboardEvent.code`, e.g. `KeyA`. */
  code?: string;
  modifiers?: number;
}

export type Navigation = { action: 'goto'; url: string } | { action: 'back' | 'forward' | 'reload' };

export interface Viewport {
  width: number;
  height: number;
  offsetTop: number;
}

/** A point on the displayed image → CSS pixels of the tab's viewport (clamped to it). */
export function toViewport(x: number, y: number, displayWidth: number, displayHeight: number, viewport: Viewport): { x: number; y: number } {
  if (!(displayWidth > 0 && displayHeight > 0)) throw new RaptorError('INVALID_INPUT', 'The displayed size must be positive.');
  const clamp = (value: number, max: number): number => Math.min(Math.max(value, 0), max);
  return {
    x: clamp((x / displayWidth) * viewport.width, viewport.width),
    y: clamp((y / displayHeight) * viewport.height, viewport.height) + viewport.offsetTop,
  };
}

export function viewportOf(metadata: FrameMetadata): Viewport {
  return { width: metadata.deviceWidth, height: metadata.deviceHeight, offsetTop: metadata.offsetTop };
}

/** The viewport of a tab that has no frame yet: its layout metrics. */
export async function measureViewport(cdp: CDPSession): Promise<Viewport> {
  const metrics = (await cdp.send('Page.getLayoutMetrics')) as { cssLayoutViewport: { clientWidth: number; clientHeight: number } };
  return { width: metrics.cssLayoutViewport.clientWidth, height: metrics.cssLayoutViewport.clientHeight, offsetTop: 0 };
}

export async function dispatchMouse(cdp: CDPSession, input: MouseInput, viewport: Viewport): Promise<void> {
  const point = toViewport(input.x, input.y, input.displayWidth, input.displayHeight, viewport);
  const pressing = input.type === 'mousePressed' || input.type === 'mouseReleased';
  await cdp.send('Input.dispatchMouseEvent', {
    type: input.type,
    x: point.x,
    y: point.y,
    modifiers: input.modifiers ?? 0,
    button: input.button ?? (pressing ? 'left' : 'none'),
    ...(pressing ? { clickCount: input.clickCount ?? 1 } : {}),
    ...(input.type === 'mouseWheel' ? { deltaX: input.deltaX ?? 0, deltaY: input.deltaY ?? 0 } : {}),
  });
}

/** Keys whose effect is not their text: CDP needs their Windows key code (and Enter its `\r`). */
const SPECIAL_KEYS: Readonly<Record<string, { keyCode: number; text?: string }>> = {
  Enter: { keyCode: 13, text: '\r' },
  Backspace: { keyCode: 8 },
  Tab: { keyCode: 9 },
  Escape: { keyCode: 27 },
  Delete: { keyCode: 46 },
  Home: { keyCode: 36 },
  End: { keyCode: 35 },
  PageUp: { keyCode: 33 },
  PageDown: { keyCode: 34 },
  ArrowLeft: { keyCode: 37 },
  ArrowUp: { keyCode: 38 },
  ArrowRight: { keyCode: 39 },
  ArrowDown: { keyCode: 40 },
  Shift: { keyCode: 16 },
  Control: { keyCode: 17 },
  Alt: { keyCode: 18 },
  Meta: { keyCode: 91 },
};

/** Ctrl, Alt or Meta held: the key is a shortcut, not text. */
const SHORTCUT = 1 | 2 | 4;

export async function dispatchKey(cdp: CDPSession, input: KeyInput): Promise<void> {
  const modifiers = input.modifiers ?? 0;
  const special = SPECIAL_KEYS[input.key];
  const printable = special === undefined && [...input.key].length === 1;
  const text = input.type === 'keyDown' ? (special?.text ?? (printable && (modifiers & SHORTCUT) === 0 ? input.key : undefined)) : undefined;
  const keyCode = special?.keyCode ?? (printable ? input.key.toUpperCase().charCodeAt(0) : 0);
  await cdp.send('Input.dispatchKeyEvent', {
    type: text === undefined ? (input.type === 'keyDown' ? 'rawKeyDown' : 'keyUp') : 'keyDown',
    key: input.key,
    code: input.code ?? '',
    modifiers,
    windowsVirtualKeyCode: keyCode,
    ...(text === undefined ? {} : { text, unmodifiedText: text }),
  });
}

/** Typing or pasting a whole string at once (IME, clipboard). */
export async function insertText(cdp: CDPSession, text: string): Promise<void> {
  await cdp.send('Input.insertText', { text });
}

/** Only web pages: a take-over must not open `file:`, `javascript:` or the browser's own pages. */
export function checkNavigationUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RaptorError('INVALID_INPUT', 'That is not a URL; type one like https://example.com/.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:' && parsed.href !== 'about:blank') {
    throw new RaptorError('INVALID_INPUT', 'Only http: and https: URLs can be opened from the dashboard.');
  }
  return parsed.href;
}

export async function navigate(cdp: CDPSession, navigation: Navigation): Promise<void> {
  if (navigation.action === 'goto') {
    await cdp.send('Page.navigate', { url: checkNavigationUrl(navigation.url) });
    return;
  }
  if (navigation.action === 'reload') {
    await cdp.send('Page.reload');
    return;
  }
  const history = (await cdp.send('Page.getNavigationHistory')) as { currentIndex: number; entries: Array<{ id: number }> };
  const entry = history.entries[history.currentIndex + (navigation.action === 'back' ? -1 : 1)];
  if (entry) await cdp.send('Page.navigateToHistoryEntry', { entryId: entry.id });
}
