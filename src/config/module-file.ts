import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module file at `url` is there: a thread's built module beside the one that starts it
 * (dist/), or not, where the tests run the sources. stat, not existsSync: existsSync is access(2), which
 * ignores capabilities, so a user that reads the file through CAP_DAC_READ_SEARCH would be told "no".
 */
export function moduleFileExists(url: URL): boolean {
  try {
    return statSync(fileURLToPath(url)).isFile();
  } catch {
    return false;
  }
}
