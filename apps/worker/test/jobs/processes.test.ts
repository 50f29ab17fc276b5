// The worker as a real process: a SIGKILL mid-job hands the job to another worker (once charged,
// once completed, one result), SIGTERM lets the job in hand finish, bad configuration exits 78.
import { findImage } from "@billing/events";
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { type AppProcess, freePort, metricValue, spawnApp, waitForHttpOk } from "@billing/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startJobsHarness, waitUntil, type JobsHarness } from "./harness.js";

let h: JobsHarness;
const started: AppProcess[] = [];

beforeAll(async () => {
  h = await startJobsHarness("worker_proc");
});
afterEach(async () => {
  for (const app of started.splice(0)) await app.stop(5_000);
});
afterAll(async () => {
  await h?.close();
});

async function startWorkerProcess(
  env: Record<string, string>,
): Promise<{ app: AppProcess; metricsUrl: string }> {
  const port = await freePort();
  const app = spawnApp("worker", h.workerEnv({ WORKER_OPS_PORT: String(port), ...env }));
  started.push(app);
  const metricsUrl = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${metricsUrl}/readyz`, app, 60_000);
  return { app, metricsUrl };
}

// Real processes started from TypeScript sources: generous bounds for a loaded CI machine.
describe("worker processes", { timeout: 120_000 }, () => {
  it("a worker killed mid-job: another worker gets it after ack_wait and completes it exactly once", async () => {
    // A slow provider (3 s) and a short ack_wait (2 s): only heartbeats keep the job with its worker.
    const slow = { WORKER_LOCAL_DELAY_MS: "3000", WORKER_ACK_WAIT_MS: "2000", WORKER_CONCURRENCY: "1" };
    const workers = [await startWorkerProcess(slow), await startWorkerProcess(slow)];
    const { holdId } = await h.submit({ jobId: "job-kill-1", userRef: "telegram:2001" });
    // Whichever worker took the job is killed mid-job; the other one must finish it.
    let holder: (typeof workers)[number] | undefined;
    await waitUntil(async () => {
      for (const worker of workers) {
        if ((await metricValue(worker.metricsUrl, "worker_jobs_in_flight")) === 1) holder = worker;
      }
      return holder !== undefined;
    }, "a worker holds the job");
    const survivor = workers.find((worker) => worker !== holder);
    if (holder === undefined || survivor === undefined) throw new Error("two workers expected");
    expect(await holder.app.kill()).toBe("SIGKILL");
    const result = await h.waitForResult("job-kill-1", 60_000);
    expect(result.kind).toBe("completed");
    expect(await metricValue(survivor.metricsUrl, "worker_jobs_total", { outcome: "completed" })).toBe(1);

    // Once charged, once announced, one result.
    expect((await h.bot.wallet.getHold({ holdId })).hold).toMatchObject({
      state: HoldState.POSTED,
      postedAmount: 1n,
    });
    const balance = await h.admin.wallet.getBalance({ userRef: "telegram:2001" });
    expect([
      balance.freeOperationsAvailable,
      balance.freeOperationsReserved,
      balance.creditsAvailable,
    ]).toEqual([3n, 0n, 0n]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await h.resultsOf("job-kill-1")).toHaveLength(1);
    expect(
      (await h.buckets.results.list()).filter((o) => o.name === "job-kill-1" && !o.deleted),
    ).toHaveLength(1);
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-kill-1")).toEqual(
      result.kind === "completed" ? result.event.result : undefined,
    );
    await h.drained();
  });

  it("SIGTERM: the job in hand finishes, then the worker exits 0", async () => {
    const worker = await startWorkerProcess({ WORKER_LOCAL_DELAY_MS: "1500" });
    await h.submit({ jobId: "job-term-1", userRef: "telegram:2002" });
    await waitUntil(
      async () => (await metricValue(worker.metricsUrl, "worker_jobs_in_flight")) === 1,
      "the worker holds the job",
    );
    expect(await worker.app.stop(10_000)).toBe(0);
    const results = await h.resultsOf("job-term-1");
    expect(results.map((r) => r.kind)).toEqual(["completed"]);
    await h.drained();
  });

  it("refuses to start on bad configuration, naming the variables (exit 78)", async () => {
    const app = spawnApp("worker", { BILLING_URL: "ftp://nowhere", WORKER_CONCURRENCY: "0" });
    expect(await app.exited).toBe(78);
    for (const variable of ["BILLING_URL", "BILLING_TOKEN", "WORKER_CONCURRENCY"]) {
      expect(app.logs()).toContain(variable);
    }
    // One line per problem, no stack trace.
    expect(app.logs()).not.toContain("    at ");
  });
});
