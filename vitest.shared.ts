// Shared vitest settings for every workspace. Tests resolve workspace packages to their TypeScript
// sources (the "source" export condition), so a change in a package is seen without a rebuild.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source", "import", "node", "default"] },
  ssr: { resolve: { conditions: ["source", "import", "node", "default"], externalConditions: ["source"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real PostgreSQL and NATS behind the tests: keep files in separate processes, few at a time.
    pool: "forks",
    maxWorkers: 2,
    passWithNoTests: false,
  },
});
