/**
 * `--secrets-file <file>` (not `--env-file`: Node 20 takes that flag for itself wherever it appears on the command line): a dotenv file of the credentials a recipe reads, loaded into this
 * process's environment only (what is already set wins), never stored or printed.
 */
import { RaptorError } from '../core/errors.js';

export function loadSecretsFile(path: string): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RaptorError('NOT_FOUND', `There is no secrets file at ${path}. Give the dotenv file that holds the recipe's credentials.`);
    throw new RaptorError('INVALID_INPUT', `The secrets file ${path} could not be read (${code ?? 'unreadable'}). Give a dotenv file: KEY=value lines.`);
  }
}
