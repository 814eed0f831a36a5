/**
 * The CLI's one exit point: builds the program, runs the command, prints its output or its
 * error, and turns the outcome into an exit code (DESIGN.md: 0 ok, 1 failure, 2 usage,
 * 3 not found, 4 invalid or expired, 5 browser unreachable). Commands return or throw; only
 * `main` writes the result and calls `process.exit`.
 */
import { CommanderError, type Command } from 'commander';
import { scrub } from './scrub.js';
import { exitCodeFor, isRaptorError } from '../core/errors.js';
import { fsFault } from '../fs/fs-errors.js';
import type { Handler, Run } from './command.js';
import { createCliContext, type CliIo } from './context.js';
import type { CommandOutput } from './output.js';
import { buildProgram, commandPath, usageCommand } from './program.js';

/** Runs the CLI for `argv` (as in `process.argv`: node, script, args...) and returns the exit code. Never exits. */
export async function runCli(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let output: CommandOutput | undefined;
  const run: Run =
    <A extends unknown[]>(handler: Handler<A>) =>
    async (...args: [...A, Command]) => {
      // commander calls actions with (...arguments, options, command)
      const command = args.at(-1) as Command;
      output = await handler(await createCliContext(command, io), ...(args.slice(0, -1) as unknown as A));
    };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    return reportError(error, program, argv, io);
  }
  if (!output) return 0; // help or version was printed
  const json = program.opts<{ json?: boolean }>().json === true;
  // The one door to stdout: no URL leaves with its credentials unless the user asked for them.
  const guard = output.reveals === true ? (text: string) => text : scrub;
  if (json) {
    if (output.data !== undefined) io.stdout.write(guard(`${JSON.stringify(output.data, null, 2)}\n`));
  } else if (output.text) {
    const text = output.text({ tty: io.stdout.isTTY === true });
    if (text !== '') io.stdout.write(guard(`${text}\n`));
  }
  return output.exitCode ?? 0;
}

/** The process entry point used by `bin/raptor.js`. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // `raptor list | head -1`: the reader went away, which is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const code = await runCli(argv);
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  // Exit explicitly: a kept-alive browser, a chokidar watcher or a pino stream must not keep the CLI running.
  process.exit(code);
}

function reportError(error: unknown, program: Command, argv: string[], io: CliIo): number {
  const opts = program.opts<{ json?: boolean; logLevel?: string }>();
  // Parsing may have failed before `--json` was read: look at argv too.
  const json = opts.json === true || argv.slice(2).includes('--json');
  const level = opts.logLevel ?? io.env['RAPTOR_LOG_LEVEL'];
  const debug = level === 'debug' || level === 'trace';

  // A write raptor does not route through src/fs itself (a dependency's, e.g. conf's) still failed on the user's disk, not in raptor.
  const fault = isRaptorError(error) ? undefined : fsFault(error, (error as NodeJS.ErrnoException)?.path ?? 'a file');
  if (fault) error = fault;

  let code: string;
  let message: string;
  let exitCode: number;
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0; // --help, --version: already printed
    code = 'USAGE';
    exitCode = 2;
    const command = usageCommand.get(error) ?? program;
    message =
      error.code === 'commander.help'
        ? `\`${commandPath(command)}\` needs a subcommand.` // commander printed the help on stderr
        : `${error.message.replace(/^error: /, '').replace(/\.$/, '')}. Run \`${commandPath(command)} --help\` for usage.`;
    if (error.code === 'commander.help' && !json) return exitCode;
  } else if (isRaptorError(error)) {
    code = error.code;
    message = error.message;
    exitCode = exitCodeFor(error);
  } else {
    code = 'INTERNAL';
    message = `${(error as Error)?.message ?? String(error)} (this is a bug in raptor; run with \`--log-level debug\` for the stack trace)`;
    exitCode = 1;
  }
  const issues = isRaptorError(error) ? error.issues : [];

  // Errors name URLs (a CDP endpoint, a store): never with their credentials, at any level.
  if (json) {
    io.stdout.write(scrub(`${JSON.stringify({ error: { code, message, ...(issues.length > 0 ? { issues } : {}) } }, null, 2)}\n`));
  } else {
    const lines = [`raptor: ${message}`];
    // The message already names the first issue; list them all when there are more.
    if (issues.length > 1) lines.push(...issues.slice(0, 20).map((i) => `  ${i.path || '(file)'}: ${i.message} [${i.code}]`));
    if (issues.length > 20) lines.push(`  … ${issues.length - 20} more (use --json for all)`);
    io.stderr.write(scrub(`${lines.join('\n')}\n`));
  }
  if (debug && error instanceof Error) io.stderr.write(scrub(`${stackWithCauses(error)}\n`));
  return exitCode;
}

function stackWithCauses(error: Error): string {
  const parts = [stackOf(error)];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) parts.push(`Caused by: ${stackOf(cause)}`);
  return parts.join('\n');
}

/**
 * A stack trace to print. A `SyntaxError` from `JSON.parse` quotes the text it failed on (a
 * session or config file, i.e. credentials), so only its frames are shown.
 */
function stackOf(error: Error): string {
  const stack = error.stack ?? String(error);
  if (!(error instanceof SyntaxError)) return stack;
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return [`${error.name} (its message is withheld: it may quote the file)`, ...frames].join('\n');
}

function drain(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.write('', () => resolve())) stream.once('drain', () => resolve());
  });
}
