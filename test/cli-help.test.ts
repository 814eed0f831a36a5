/**
 * `raptor --help` and every command's `--help`, snapshot-tested: a change to help text (an option
 * renamed, a description reworded, an example dropped) shows in review as a diff of
 * `__snapshots__/help/<command>.txt`. Update them on purpose with `npx vitest run test/cli-help.test.ts -u`.
 *
 * The commands are read from the program itself (`buildProgram`), so a new command is covered,
 * and must bring examples, without touching this file. Commander wraps help at the terminal's
 * width; the snapshots are rendered at a fixed 80 columns so they are the same on every machine.
 */
import type { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../src/cli/context.js';
import { buildProgram } from '../src/cli/program.js';

const HELP_WIDTH = 80;
/** What `examples()` (src/cli/output.ts) prints: the heading, then `  $ <command>` lines. */
const EXAMPLES = /\nExamples:\n {2}\$ \S/;
/**
 * Known gaps (none now), each to be fixed in the command's file (then removed here). The check is exact, so
 * a command that loses its examples fails, and so does one of these that gains some.
 */
const WITHOUT_EXAMPLES: string[] = [];

function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

/** The words after `raptor` that name each command: [] for the root, ['config', 'set'], … */
function commandPaths(): string[][] {
  const paths: string[][] = [];
  const walk = (command: Command, path: string[]): void => {
    paths.push(path);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(newProgram({ stdout: { write: () => true }, stderr: { write: () => true }, env: {} } as unknown as CliIo), []);
  return paths;
}

function newProgram(io: CliIo): Command {
  const program = buildProgram(io, () => async () => {
    throw new Error('--help must not run a command');
  });
  for (const command of everyCommand(program)) command.configureHelp({ helpWidth: HELP_WIDTH });
  return program;
}

/** What `raptor <path> --help` prints on stdout, parsed the way the CLI parses its argv. */
async function helpOf(path: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (text: string) => ((stdout += text), true) }, stderr: { write: (text: string) => ((stderr += text), true) }, env: {} } as unknown as CliIo;
  const error = await newProgram(io)
    .parseAsync(['node', 'raptor', ...path, '--help'])
    .then(() => undefined, (thrown: unknown) => thrown as CommanderError);
  expect(error?.code, `raptor ${path.join(' ')} --help: ${String(error)}`).toBe('commander.helpDisplayed');
  expect(stderr).toBe('');
  return stdout;
}

const PATHS = commandPaths();
const label = (path: string[]): string => ['raptor', ...path].join(' ');

describe('help output', () => {
  it('covers the root and every command of the program', () => {
    // A guard against a walk that silently finds nothing: the commands DESIGN.md lists are there.
    const names = PATHS.map(label);
    for (const expected of ['raptor', 'raptor launch', 'raptor save', 'raptor restore', 'raptor list', 'raptor config set', 'raptor crawl status']) expect(names).toContain(expected);
  });

  it.each(PATHS.map((path) => [label(path), path] as const))('`%s --help` matches its snapshot', async (_label, path) => {
    await expect(await helpOf(path)).toMatchFileSnapshot(`__snapshots__/help/${path.length === 0 ? 'raptor' : path.join('-')}.txt`);
  });

  it('gives every command an "Examples:" section with at least one example', async () => {
    const without: string[] = [];
    for (const path of PATHS) if (!EXAMPLES.test(await helpOf(path))) without.push(label(path));
    expect(without, 'commands whose --help shows no example (add them, or, knowingly, to WITHOUT_EXAMPLES)').toEqual(WITHOUT_EXAMPLES);
  });
});
