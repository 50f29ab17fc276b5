// Every NATS name the system uses — stream, subject, object store bucket, durable consumer — comes
// from here, under a namespace. Production uses the empty namespace (the names in DESIGN.md and
// infra/nats/); each test file uses its own (uniqueName()), so parallel runs never share a stream.

/** Base subjects, as in DESIGN.md ("Events"), before any namespace. */
export const SUBJECTS = {
  generationRequested: "jobs.generation.requested",
  generationCompleted: "jobs.generation.completed",
  generationFailed: "jobs.generation.failed",
  /** Every billing event: billing.payment.succeeded, billing.hold.expired, … */
  billing: "billing.>",
  /** deadletter.<original subject> */
  deadLetter: "deadletter.>",
} as const;

/** Base stream names. */
export const STREAMS = {
  jobs: "JOBS",
  jobResults: "JOBS_RESULTS",
  billingEvents: "BILLING_EVENTS",
  deadLetter: "DEADLETTER",
} as const;

export type StreamKey = keyof typeof STREAMS;

/** Base object store bucket names. */
export const BUCKETS = {
  /** The user's photos a job needs, put there by the bot before it publishes the job. */
  jobInputs: "job-inputs",
  /** Generated images, one object per job, named by the job id. */
  jobResults: "job-results",
} as const;

export type BucketKey = keyof typeof BUCKETS;

/** Base durable consumer names. */
export const DURABLES = {
  /** The workers' shared pull consumer of jobs.generation.requested. */
  worker: "worker",
  /** Suggested for the bot: results and billing events it tells users about. */
  botResults: "bot-results",
  botBilling: "bot-billing",
} as const;

const NAMESPACE_PATTERN = /^[a-z0-9_]{1,40}$/;

/** The names of one namespace. All fields are the full names to use on the wire. */
export interface NatsNames {
  /** "" for production. */
  readonly namespace: string;
  readonly streams: Readonly<Record<StreamKey, string>>;
  readonly buckets: Readonly<Record<BucketKey, string>>;
  readonly durables: Readonly<Record<keyof typeof DURABLES, string>>;
  readonly subjects: Readonly<Record<keyof typeof SUBJECTS, string>>;
  /** A base subject (e.g. "billing.hold.expired" from the outbox) under this namespace. */
  subject(base: string): string;
  /** The base subject of a full one (the inverse of subject()); throws if it is not in this namespace. */
  baseSubject(full: string): string;
}

/**
 * The names under `namespace`: "" (production) or 1–40 characters of [a-z0-9_], which become a
 * subject prefix ("t_jobs_1a2b.jobs.generation.requested") and a name prefix ("t_jobs_1a2b_JOBS",
 * "t_jobs_1a2b_job-inputs", "t_jobs_1a2b_worker").
 */
export function natsNames(namespace = ""): NatsNames {
  if (namespace !== "" && !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(
      `NATS namespace ${JSON.stringify(namespace)} must be empty or 1-40 characters of [a-z0-9_]`,
    );
  }
  const named = (base: string) => (namespace === "" ? base : `${namespace}_${base}`);
  const subject = (base: string) => (namespace === "" ? base : `${namespace}.${base}`);
  const mapValues = <K extends string>(record: Readonly<Record<K, string>>, f: (value: string) => string) =>
    Object.fromEntries(Object.entries<string>(record).map(([key, value]) => [key, f(value)])) as Record<
      K,
      string
    >;
  const prefix = namespace === "" ? "" : `${namespace}.`;
  return {
    namespace,
    streams: mapValues(STREAMS, named),
    buckets: mapValues(BUCKETS, named),
    durables: mapValues(DURABLES, named),
    subjects: mapValues(SUBJECTS, subject),
    subject,
    baseSubject(full) {
      if (!full.startsWith(prefix)) throw new Error(`subject ${full} is not in namespace "${namespace}"`);
      return full.slice(prefix.length);
    },
  };
}
