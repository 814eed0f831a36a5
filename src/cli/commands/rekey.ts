/**
 * `raptor rekey`: re-encrypts every session with a new key (encryption on), or decrypts them all
 * (encryption off). Crash-safe: run it again if it was interrupted.
 */
import type { Command } from 'commander';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, type CommandOutput } from '../output.js';

export function registerRekey(program: Command, run: Run): void {
  program
    .command('rekey')
    .summary('re-encrypt every session with a new key')
    .description('With encryption on: seal every session with a new key and replace ~/.raptor/key. With encryption off: store every session in the clear again. Run it again if it was interrupted.')
    .addHelpText(
      'after',
      examples([
        ['raptor config set encryption on && raptor rekey', 'encrypt every existing session'],
        ['raptor rekey --json', '{ "sessions": 12, "keyId": "3f2a…" }'],
      ]),
    )
    .action(run((cli) => rekey(cli)));
}

export async function rekey(cli: CliContext): Promise<CommandOutput> {
  const result = await withManager(cli, { autoCleanup: false }, (manager) => manager.rekey());
  return {
    data: result,
    text: () => (result.keyId ? `Re-encrypted ${result.sessions} sessions with key ${result.keyId}.` : `Decrypted ${result.sessions} sessions; encryption is off.`),
  };
}
