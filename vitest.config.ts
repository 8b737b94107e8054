import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
