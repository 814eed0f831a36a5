/**
 * What a message may quote of an error: its first line. Playwright's errors carry a call log
 * (with terminal colours) below it, and a user's recipe may throw anything, a string included.
 */
export function firstLineOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message ?? '').split('\n')[0]!.trim();
}
