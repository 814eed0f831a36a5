/** `raptor config get|set|unset|list|path`: the settings in `<RAPTOR_HOME>/config.json`. */
import type { Command } from 'commander';
import { SETTING_KEYS, assertSettingKey, loadSettings, setSetting, unsetSetting, type Settings } from '../../env/config.js';
import { ensureKeyFile } from '../../crypto/key-file.js';
import type { Run } from '../command.js';
import type { CliContext } from '../context.js';
import { examples, formatFields, type CommandOutput } from '../output.js';

export function registerConfig(program: Command, run: Run): void {
  const config = program
    .command('config')
    .summary('read and change settings')
    .description(`Read and change settings (${SETTING_KEYS.join(', ')}). Environment variables (RAPTOR_BROWSER, RAPTOR_LOG_LEVEL) override them`)
    .addHelpText(
      'after',
      examples([
        ['raptor config list', 'every setting and its value'],
        ['raptor config set probeTimeoutMs 3000', 'wait longer for a slow browser'],
      ]),
    );
  config
    .command('get')
    .description('Print the value of a setting (with defaults and environment applied)')
    .argument('<key>', `one of ${SETTING_KEYS.join(', ')}`)
    .addHelpText('after', examples([['raptor config get headless', 'true unless changed']]))
    .action(run((cli, key: string) => getSetting(cli, key)));
  config
    .command('set')
    .description('Change a setting in the config file')
    .argument('<key>', `one of ${SETTING_KEYS.join(', ')}`)
    .argument('<value>', 'new value: true/false, a number, a duration (7d) or a path')
    .addHelpText('after', examples([['raptor config set maxAge 14d', 'sessions untouched for 14 days expire']]))
    .action(run((cli, key: string, value: string) => changeSetting(cli, key, value)));
  config
    .command('unset')
    .description('Remove a setting from the config file (back to its default)')
    .argument('<key>', `one of ${SETTING_KEYS.join(', ')}`)
    .addHelpText('after', examples([['raptor config unset browser', 'find a browser automatically again']]))
    .action(run((cli, key: string) => removeSetting(cli, key)));
  config
    .command('list')
    .description('Print every setting')
    .addHelpText('after', examples([['raptor config list --json', '{ "settings": {...}, "file": "..." }']]))
    .action(run((cli) => listSettings(cli)));
  config
    .command('path')
    .description('Print where the config file is')
    .addHelpText('after', examples([['$EDITOR "$(raptor config path)"', 'edit it by hand']]))
    .action(run((cli) => configPath(cli)));
}

export async function getSetting(cli: CliContext, key: string): Promise<CommandOutput> {
  assertSettingKey(key);
  const value = (await loadSettings(cli.paths, cli.env))[key] ?? null;
  return { data: { key, value }, text: () => (value === null ? '' : String(value)) };
}

export async function changeSetting(cli: CliContext, key: string, text: string): Promise<CommandOutput> {
  // Turning encryption on without RAPTOR_KEY needs a key file: created before the setting is written.
  const keyFirst = async (next: Settings): Promise<void> => {
    if (key === 'encryption' && next.encryption === 'on' && !cli.env['RAPTOR_KEY']) await ensureKeyFile(cli.paths.home);
  };
  const value = (await setSetting(cli.paths, key, text, keyFirst))[key as keyof Settings] ?? null;
  return { data: { key, value, file: cli.paths.configFile }, text: () => `Set ${key} = ${String(value)} in ${cli.paths.configFile}.` };
}

export async function removeSetting(cli: CliContext, key: string): Promise<CommandOutput> {
  await unsetSetting(cli.paths, key);
  return { data: { key, unset: true, file: cli.paths.configFile }, text: () => `Unset ${key} in ${cli.paths.configFile}.` };
}

export async function listSettings(cli: CliContext): Promise<CommandOutput> {
  const settings = await loadSettings(cli.paths, cli.env);
  return {
    data: { settings, file: cli.paths.configFile },
    text: () => formatFields(SETTING_KEYS.map((key) => [key, settings[key] === undefined ? '(not set)' : String(settings[key])] as const)),
  };
}

export async function configPath(cli: CliContext): Promise<CommandOutput> {
  return { data: { file: cli.paths.configFile }, text: () => cli.paths.configFile };
}
