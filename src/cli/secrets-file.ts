/**
 * `--secrets-file <file>` (not `--env-file`: Node 20 takes that flag for itself wherever it
 * appears on the command line): a dotenv file of the credentials a recipe reads, loaded into this
 * process's environment only (what is already set wins, as with dotenv), never stored, and every
 * value of it masked in whatever raptor prints or records (`env/secrets.ts`).
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { RaptorError } from '../core/errors.js';
import { rememberSecrets } from '../env/secrets.js';

export function loadSecretsFile(path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RaptorError('NOT_FOUND', `There is no secrets file at ${path}. Give the dotenv file that holds the recipe's credentials.`);
    throw new RaptorError('INVALID_INPUT', `The secrets file ${path} could not be read (${code ?? 'unreadable'}). Give a dotenv file: KEY=value lines.`);
  }
  const values = parseEnv(text) as Record<string, string>;
  rememberSecrets(values);
  for (const [name, value] of Object.entries(values)) if (process.env[name] === undefined) process.env[name] = value;
}
