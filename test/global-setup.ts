// Before any test file: where CI asks for it (AZTRAFFIC_TEST_IMAGE_EARLY, set by .ci/run), the container
// test's image starts building in the background, so that its minutes of Docker work overlap the other
// files' tests instead of adding to them. The container test waits for it (test/image.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { dockerAvailable } from './image.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The status file of the image build started with the suite; undefined: none was started. */
    imageBuild: string | undefined;
  }
}

let build: ChildProcess | undefined;

export default function setup(project: TestProject): () => void {
  project.provide('imageBuild', undefined);
  if (process.env.AZTRAFFIC_TEST_IMAGE_EARLY !== '1' || !dockerAvailable()) return () => {};
  const status = join(mkdtempSync(join(tmpdir(), 'aztraffic-image-')), 'status.json');
  build = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'image.ts'), status], { stdio: 'ignore' });
  project.provide('imageBuild', status);
  return () => {
    // a run that ended before the container test (a failure, a filter) leaves no build behind
    if (build !== undefined && build.exitCode === null) build.kill();
  };
}
