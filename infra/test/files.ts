// Reads the deployment files under infra/ for the checks in this folder.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

const infraRoot = fileURLToPath(new URL("..", import.meta.url));

export function infraText(relativePath: string): string {
  return readFileSync(`${infraRoot}${relativePath}`, "utf8");
}

export function infraYaml(relativePath: string): unknown {
  return parse(infraText(relativePath));
}

/** Every document of a multi-document YAML file (`---` separated), empty ones skipped. */
export function infraYamlDocuments(relativePath: string): unknown[] {
  return parseAllDocuments(infraText(relativePath))
    .map((document) => document.toJS() as unknown)
    .filter((value) => value !== null && value !== undefined);
}

/** KEY=value lines of an env file (comments and blank lines skipped). */
export function infraEnv(relativePath: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of infraText(relativePath).split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) entries.set(match[1], match[2]);
  }
  return entries;
}
