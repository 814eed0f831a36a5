/**
 * `--env-file <file>`: a dotenv file of the credentials a recipe reads, loaded into this
 * process's environment only (what is already set wins), never stored or printed.
 */
import { RaptorError } from '../core/errors.js';

export function loadEnvFile(path: string): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RaptorError('NOT_FOUND', `There is no env file at ${path}. Give the dotenv file that holds the recipe's credentials.`);
    throw new RaptorError('INVALID_INPUT', `The env file ${path} could not be read (${code ?? 'unreadable'}). Give a dotenv file: KEY=value lines.`);
  }
}
