/**
 * Runs the CLI's own `runCli` (src/cli/main.ts) inside the test process, with captured stdout
 * and stderr: the same parsing, commands, error reporting and exit codes as `bin/raptor.js`,
 * without a node start per command (seconds each on a loaded 2-core machine). For what only a
 * real process shows (signals, rlimits, another uid), use `runCli` from ./cli.ts.
 */
import { Writable } from 'node:stream';
import { runCli as run } from '../../src/cli/main.js';
import { cleanEnv, type CliResult } from './cli.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export async function runCliInProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await run([process.execPath, 'raptor', ...args], { stdout, stderr, env: cleanEnv(env) });
  return {
    code,
    signal: null,
    stdout: stdout.text,
    stderr: stderr.text,
    json() {
      try {
        return JSON.parse(stdout.text);
      } catch {
        throw new Error(`stdout is not one JSON document (exit ${code}).\nstdout:\n${stdout.text}\nstderr:\n${stderr.text}`);
      }
    },
  };
}
