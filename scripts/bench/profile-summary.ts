// Summarises V8 CPU profiles (`node --cpu-prof`): the share of samples by package and the top
// functions by self time. Usage: tsx scripts/bench/profile-summary.ts <dir-or-file.cpuprofile>…
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  hitCount?: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Where a frame's code lives: an npm package, a workspace, node's own code, or a V8 pseudo-frame. */
function ownerOf(url: string, functionName: string): string {
  if (url === "") return functionName === "" ? "(anonymous native)" : functionName;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return modules[1];
  const workspace = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (workspace !== null) return `${workspace[1]}/${workspace[2]}`;
  if (url.startsWith("node:")) return "node:" + (url.slice(5).split("/")[1] ?? url.slice(5));
  return url;
}

function files(args: readonly string[]): string[] {
  return args.flatMap((arg) =>
    statSync(arg).isDirectory()
      ? readdirSync(arg)
          .filter((name) => name.endsWith(".cpuprofile"))
          .map((name) => join(arg, name))
      : [arg],
  );
}

const byOwner = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const file of files(process.argv.slice(2))) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[] };
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0 || node.callFrame.functionName === "(idle)") continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const owner = ownerOf(url, functionName);
    const where =
      url === "" ? "" : ` ${url.replace(/^.*\/(node_modules|apps|packages)\//, "")}:${lineNumber + 1}`;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + hits);
    const key = `${functionName || "(anonymous)"}${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    total += hits;
  }
}

const top = (map: Map<string, number>, n: number) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => `${((100 * hits) / Math.max(1, total)).toFixed(1).padStart(6)} %  ${name}`);
console.log(`busy samples: ${total}\n\nby package:\n${top(byOwner, 20).join("\n")}`);
console.log(`\ntop functions (self time):\n${top(byFunction, 30).join("\n")}`);
