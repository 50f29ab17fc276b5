// Node's own flags for the apps, in one place for `npm start` (scripts/stack.ts) and the benches; compose,
// k8s and the apps' `start` scripts carry the same (infra/test/k8s.test.ts checks they agree).
// A young generation smaller than V8's default: billing's peak RSS under `npm run bench` falls from
// ~430 to ~330 MB for ~10 % more CPU per charge; the worker, which allocates briefly per job, stays
// near 130–170 MiB instead of growing past 240 MiB.
export const NODE_FLAGS = {
  billing: ["--max-semi-space-size=8"],
  worker: ["--max-semi-space-size=2"],
} as const;
