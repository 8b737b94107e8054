import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/** Vitest's order, the container test last: its image builds in the background meanwhile (global-setup.ts). */
class ContainerLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification): number => (f.moduleId.endsWith('/container.test.ts') ? 1 : 0);
    return [...sorted].sort((a, b) => last(a) - last(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CI: the container test's image builds in the background from the start (AZTRAFFIC_TEST_IMAGE_EARLY)
    globalSetup: ['test/global-setup.ts'],
    sequence: { sequencer: ContainerLast },
    testTimeout: 60_000,
    // the container test builds an image: its own timeouts are longer
    hookTimeout: 60_000,
    // integration tests share tcpdump/tshark and network namespaces: keep files serial
    fileParallelism: false,
    // network safety: nothing the tests start may reach IMDS, AWS or the internet
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      AZTRAFFIC_IP_RANGES_URL: 'none',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'AKIDTESTONLY',
      AWS_SECRET_ACCESS_KEY: 'test-only',
      TESTCONTAINERS_RYUK_DISABLED: 'true',
      TESTCONTAINERS_HOST_OVERRIDE: 'localhost',
    },
  },
});
