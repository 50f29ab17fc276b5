// Shared vitest settings for every workspace. Tests resolve workspace packages to their TypeScript
// sources (the "source" export condition), so a change in a package is seen without a rebuild.
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real PostgreSQL and NATS behind the tests: files run in separate processes, two at a time.
    pool: "forks",
    maxWorkers: 2,
  },
});
