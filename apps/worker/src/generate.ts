// The paid part of a job: read the user's photos, run the provider, store the image under the job
// id. Or say how the job ended instead: released (input missing, provider failed for good) or
// retried later (a transient provider error).
import { bucketOf, type Delivery, ImageUnavailableError, nak, putNewImage, readImage } from "@billing/events";
import type { GenerationRequested, ImageRef } from "@billing/proto/events/v1/jobs_pb";
import { BILLING_RETRY_DELAY_MS, releaseAndFail, USER_MESSAGES } from "./job-failures.js";
import type { JobDeps, JobEnd } from "./job-types.js";
import { NO_STEP_TIMER } from "./metrics.js";
import {
  type InputImage,
  isOperation,
  ProviderError,
  retryDelayMs,
  toProviderError,
} from "./providers/index.js";

export async function generateResult(
  delivery: Delivery<GenerationRequested>,
  deps: JobDeps,
): Promise<{ ref: ImageRef } | { done: JobEnd }> {
  const job = delivery.message;
  const steps = deps.steps ?? NO_STEP_TIMER;
  const images = await readInputs(deps, job);
  if (images === undefined) {
    return { done: await releaseAndFail(deps, job, "input_missing", USER_MESSAGES.input_missing) };
  }
  const operation = job.operation;
  if (!isOperation(operation)) {
    const error = new ProviderError("unsupported_operation", `unknown operation ${operation}`);
    return { done: await releaseAndFail(deps, job, error.code, error.userMessage) };
  }
  let image;
  try {
    image = await steps.time("provider", () =>
      deps.provider.generate(
        { jobId: job.jobId, operation, prompt: job.prompt, images, seed: job.seed },
        delivery.signal,
      ),
    );
  } catch (thrown) {
    const error = toProviderError(thrown, deps.provider.name);
    if (error.kind === "transient" && !delivery.isLastDelivery) {
      const delayMs =
        retryDelayMs(
          error,
          delivery.deliveryCount,
          deps.retryBaseMs === undefined ? {} : { baseMs: deps.retryBaseMs },
        ) ?? BILLING_RETRY_DELAY_MS;
      deps.log.info(
        { job_id: job.jobId, code: error.code, delivery: delivery.deliveryCount, retry_in_ms: delayMs },
        "provider failed; retrying",
      );
      return { done: { outcome: nak(delayMs), result: "retry" } };
    }
    deps.log.info({ job_id: job.jobId, code: error.code, err: error.message }, "provider failed for good");
    return { done: await releaseAndFail(deps, job, error.code, error.userMessage) };
  }
  // Only called when the job has no result yet (handleJob looked): nothing to replace.
  const ref = await steps.time("result_put", () =>
    putNewImage(deps.js, deps.buckets.names.jobResults, job.jobId, image.bytes, image.mimeType),
  );
  return { ref };
}

/** The job's photos, read at once; undefined when one is missing or does not match its reference. */
async function readInputs(deps: JobDeps, job: GenerationRequested): Promise<InputImage[] | undefined> {
  if (job.inputImages.some((ref) => bucketOf(deps.buckets, ref) !== deps.buckets.inputs)) return undefined;
  try {
    return await Promise.all(
      job.inputImages.map(async (ref) => ({
        bytes: await readImage(deps.buckets.inputs, ref),
        mimeType: ref.mimeType,
      })),
    );
  } catch (error) {
    if (error instanceof ImageUnavailableError) {
      deps.log.warn({ job_id: job.jobId, err: error }, "input image unavailable");
      return undefined;
    }
    throw error; // NATS trouble: the consume helper naks and the job comes back
  }
}
