// `npm run nats:definitions`: writes infra/nats/{streams,consumers}/*.json and buckets.json from the
// code in packages/events (the test in packages/events fails when they differ).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { natsDefinitionFiles } from "@billing/events";

const ROOT = fileURLToPath(new URL("../infra/nats/", import.meta.url));
// Stale files of renamed streams or consumers go too.
for (const dir of ["streams", "consumers"]) rmSync(`${ROOT}${dir}`, { recursive: true, force: true });
for (const [path, content] of Object.entries(natsDefinitionFiles())) {
  mkdirSync(dirname(`${ROOT}${path}`), { recursive: true });
  writeFileSync(`${ROOT}${path}`, content);
}
console.log(
  `infra/nats: ${readdirSync(ROOT, { recursive: true }).filter((f) => String(f).endsWith(".json")).length} files written`,
);
