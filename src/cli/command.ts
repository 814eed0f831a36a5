/**
 * The shape every command file follows: `register(program, run)` declares the commander
 * command, and its handler returns a `CommandOutput` (or throws). `run` is how `main` gets
 * that result back out of commander, which ignores what actions return.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import type { CommandOutput } from './output.js';

export type Handler<A extends unknown[]> = (cli: CliContext, ...args: A) => Promise<CommandOutput>;

/** Wraps a handler into a commander action: builds the context, stores the output for `main`. */
export type Run = <A extends unknown[]>(handler: Handler<A>) => (...args: [...A, Command]) => Promise<void>;

export type Register = (program: Command, run: Run) => void;
