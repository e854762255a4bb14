import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'agent/**/*.test.ts',
            'collector/**/*.test.ts',
            'proto/**/*.test.ts',
            'lib/**/*.test.ts',
            'cli/**/*.test.ts',
          ],
          pool: 'threads',
        },
      },
      {
        // Kernel and real-server tests share one machine-wide sensor view and ports: run
        // their files one at a time so a storm in one file cannot skew another's counts.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
