// `npm run job -- --user telegram:42 --operation generate --prompt "a cat"`: does what the bot does
// for one paid generation against the running stack (`npm start`) — OpenAccount, Reserve, publish
// jobs.generation.requested — then waits for the worker's answer and writes the image to a file.
//
// Options: --user, --operation (generate, edit, merge, face_swap, retouch, upscale, add_text),
// --prompt, --input <image file> (repeat for two photos), --out <file> (default job-<id>.png),
// --timeout-ms (default 120000). Paths are relative to where npm was run (INIT_CWD). Reads BILLING_URL, NATS_URL, NATS_NAMESPACE and the bot token
// (JOB_BILLING_TOKEN, else the bot entry of BILLING_TOKENS) from the environment or infra/local.env.
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { create, fromBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createBillingClient, errorReason } from "@billing/client";
import {
  bucketOptionsFor,
  connectNats,
  ensureBuckets,
  ensureStreams,
  jetstream,
  jetstreamManager,
  natsNames,
  publishGenerationRequested,
  putImage,
  readImage,
  streamOptionsFor,
} from "@billing/events";
import {
  type GenerationCompleted,
  GenerationCompletedSchema,
  type GenerationFailed,
  GenerationFailedSchema,
  GenerationRequestedSchema,
} from "@billing/proto/events/v1/jobs_pb";
import { localEnv, tokenOfScope } from "./local-env.js";

const { values } = parseArgs({
  options: {
    user: { type: "string", default: "telegram:42" },
    operation: { type: "string", default: "generate" },
    prompt: { type: "string", default: "" },
    input: { type: "string", multiple: true, default: [] },
    out: { type: "string" },
    "timeout-ms": { type: "string", default: "120000" },
  },
});
const env = localEnv();
const token = env.JOB_BILLING_TOKEN ?? tokenOfScope(env, "bot");
if (token === undefined)
  throw new Error("no bot token: set JOB_BILLING_TOKEN or a bot:… entry in BILLING_TOKENS");
const timeoutMs = Number(values["timeout-ms"]);
// npm runs scripts from the repository root; files are where the user ran the command.
const here = (path: string) => resolve(process.env.INIT_CWD ?? process.cwd(), path);
const jobId = `job-${randomUUID()}`;
const names = natsNames(env.NATS_NAMESPACE ?? "");

const billing = createBillingClient({ baseUrl: env.BILLING_URL ?? "http://127.0.0.1:50051", token });
const nc = await connectNats({ servers: env.NATS_URL ?? "nats://127.0.0.1:4222", name: "job-script" });
try {
  const jsm = await jetstreamManager(nc);
  const replicas = Number(env.NATS_STREAM_REPLICAS ?? "1");
  await ensureStreams(jsm, names, streamOptionsFor(names, replicas));
  const buckets = await ensureBuckets(nc, names, bucketOptionsFor(names, replicas));

  // 1. The user's photos go to the inputs bucket; the job references them.
  const inputImages = [];
  for (const [index, path] of values.input.entries()) {
    const mimeType = /\.jpe?g$/i.test(extname(path)) ? "image/jpeg" : "image/png";
    inputImages.push(
      await putImage(
        buckets.inputs,
        buckets.names.jobInputs,
        `${jobId}-${index}`,
        readFileSync(here(path)),
        mimeType,
      ),
    );
  }

  // 2. Account and hold (the bot uses the Telegram update id as the idempotency key).
  const opened = await billing.wallet.openAccount({ userRef: values.user });
  const before = opened.balance;
  console.log(
    `user ${values.user}: ${before?.creditsAvailable ?? 0n} credits, ${before?.freeOperationsAvailable ?? 0n} free operations`,
  );
  let holdId: string;
  try {
    const reserved = await billing.wallet.reserve({
      userRef: values.user,
      operation: values.operation,
      idempotencyKey: jobId,
      jobId,
      timeout: durationFromMs(15 * 60_000),
    });
    holdId = reserved.hold?.holdId ?? "";
    console.log(
      `reserved hold ${holdId} (${reserved.hold?.amountCredits ?? 0n} credits, ${reserved.hold?.amountFreeOperations ?? 0n} free operations)`,
    );
  } catch (error) {
    console.error(
      `Reserve refused: ${errorReason(error) ?? String(error)} — a bot would offer a top-up here`,
    );
    process.exit(2);
  }

  // 3. Listen for the answer first, then publish the job.
  const answer = new Promise<{ completed?: GenerationCompleted; failed?: GenerationFailed }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${timeoutMs} ms — is the worker running?`)),
        timeoutMs,
      );
      const subscription = nc.subscribe(names.subject("jobs.generation.*"), {
        callback: (error, msg) => {
          if (error !== null) return reject(error);
          // jobs.generation.* also matches the requests themselves: only results are answers.
          let answer: { completed?: GenerationCompleted; failed?: GenerationFailed };
          if (msg.subject === names.subjects.generationCompleted) {
            answer = { completed: fromBinary(GenerationCompletedSchema, msg.data) };
          } else if (msg.subject === names.subjects.generationFailed) {
            answer = { failed: fromBinary(GenerationFailedSchema, msg.data) };
          } else {
            return;
          }
          if ((answer.completed ?? answer.failed)?.jobId !== jobId) return;
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve(answer);
        },
      });
    },
  );
  await publishGenerationRequested(
    jetstream(nc),
    names,
    create(GenerationRequestedSchema, {
      jobId,
      userRef: values.user,
      operation: values.operation,
      holdId,
      prompt: values.prompt,
      inputImages,
      locale: "en",
      seed: BigInt(Date.now()),
    }),
  );
  console.log(`published ${jobId}; waiting for the worker…`);

  const { completed, failed } = await answer;
  if (failed !== undefined) {
    console.log(
      `failed (${failed.reasonCode}): ${failed.reasonMessage}${failed.refunded ? " — credits returned" : ""}`,
    );
    process.exitCode = 1;
  } else if (completed?.result !== undefined) {
    const bytes = await readImage(buckets.results, completed.result);
    const out = values.out ?? `${jobId}${completed.result.mimeType === "image/jpeg" ? ".jpg" : ".png"}`;
    writeFileSync(here(out), bytes);
    console.log(
      `completed by ${completed.provider}: ${here(out)} (${bytes.length} bytes); charged ${completed.chargedCredits} credits ` +
        `and ${completed.chargedFreeOperations} free operations; now ${completed.creditsAvailable} credits and ` +
        `${completed.freeOperationsAvailable} free operations`,
    );
  }
  const hold = (await billing.wallet.getHold({ holdId })).hold;
  console.log(
    `hold ${holdId}: ${hold === undefined ? "?" : ["UNSPECIFIED", "PENDING", "POSTED", "VOIDED", "EXPIRED"][hold.state]}`,
  );
} finally {
  billing.close();
  await nc.close();
}
