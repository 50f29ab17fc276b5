// Reading a process's Prometheus /metrics in tests: the one way every test asks "how many".

/** Sum of the samples of `name` in exposition text whose labels include every pair of `labels`. */
export function sumOfSamples(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (match?.[1] !== name || match[3] === undefined) continue;
    const series = new Map(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => series.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}

/** Sum of a metric's samples at `metricsUrl` (http://host:port) matching `labels`; 0 when it has none. */
export async function metricValue(
  metricsUrl: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const response = await fetch(`${metricsUrl}/metrics`);
  if (!response.ok) throw new Error(`${metricsUrl}/metrics answered ${response.status}`);
  return sumOfSamples(await response.text(), name, labels);
}
