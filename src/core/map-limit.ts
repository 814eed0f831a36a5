/**
 * `fn` over many items, a few at a time: probing 500 sessions' browsers at once opens 500
 * sockets and makes each probe time out behind the others on a busy machine, so the ones that
 * do answer look dead.
 */

/**
 * Runs `fn` on every item with at most `limit` calls in flight and resolves to the results in
 * the order of `items` (not of completion). On the first failure no new call starts and the
 * promise rejects with it once the calls in flight have settled, so none runs on unobserved.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`mapLimit needs a limit of at least 1, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
