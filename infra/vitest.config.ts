import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.ts";

// Two of these files run a whole stack of processes each: one at a time, so they do not starve the
// other workspaces' tests running next to them.
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
