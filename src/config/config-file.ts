// --config.file: a YAML mapping of long flag names to values, e.g. `web.listen-address: ":9977"`.
// Precedence: flag > AZTRAFFIC_* variable > config file > default.
import type { Command } from 'commander';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { loadStructuredFile } from './files.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const ConfigFileSchema = z.record(z.string(), z.union([scalar, z.array(scalar)]));

export function applyConfigFile(cmd: Command): void {
  const path = cmd.getOptionValue('config.file') as string | undefined;
  if (!path) return;
  const settings = loadStructuredFile('--config.file', path, ConfigFileSchema);
  for (const [key, value] of Object.entries(settings)) {
    const opt = cmd.options.find((o) => o.long === `--${key}`);
    if (!opt || key === 'config.file') {
      throw new ConfigError(`--config.file ${path}: unknown setting "${key}" (settings are the long flags of '${cmd.name()}' without the dashes)`);
    }
    const attr = opt.attributeName();
    const source = cmd.getOptionValueSource(attr);
    if (source === 'cli' || source === 'env') continue;
    let parsed: unknown = undefined;
    for (const one of (Array.isArray(value) ? value : [value]).map(String)) {
      if (opt.argChoices && !opt.argChoices.includes(one)) {
        throw new ConfigError(`--config.file ${path}: ${key}: "${one}" is not one of ${opt.argChoices.join(', ')}`);
      }
      try {
        parsed = opt.parseArg ? opt.parseArg(one, parsed) : one;
      } catch (e) {
        throw new ConfigError(`--config.file ${path}: ${key}: ${(e as Error).message}`);
      }
    }
    cmd.setOptionValueWithSource(attr, parsed, 'config');
  }
}
