// Prometheus's own binaries, from Debian's `prometheus` package. Tests never install anything: when a
// binary is missing they fail and say how to get it (.ci/run installs it before `npm ci`).
import { execFileSync } from "node:child_process";

export function requireBinary(name: "promtool" | "prometheus" | "chromium"): string {
  const found = (() => {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  })();
  if (found === "") {
    const pkg = name === "chromium" ? "chromium" : "prometheus";
    throw new Error(
      `${name} is not installed: run \`apt-get install -y ${pkg}\` (Debian's package; .ci/run does it in CI)`,
    );
  }
  return found;
}
