/** How long-running commands (`watch`, `ui`) end: on the first Ctrl-C or SIGTERM, cleanly. */

/** Resolves on the first SIGINT or SIGTERM; the listeners replace Node's default of dying at once. */
export function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
