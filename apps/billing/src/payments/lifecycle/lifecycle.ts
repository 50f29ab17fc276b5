// The one lifecycle of payments and refunds at a provider (YooKassa; Telegram for Stars refunds),
// run the same way for both:
//   - a create is sent with its stored key until an answer arrives; unanswered past the key's
//     lifetime, or refused, it is given up — unless (refunds) an earlier attempt may have gone
//     through, when YooKassa is asked what it made of it and its answer is followed;
//   - a notification or a re-read GETs the object and applies YooKassa's answer, never the body;
//   - an object that disagrees with billing's row is a mismatch: nothing moves, operators look.
import type { Logger } from "@billing/observability";
import { isYooKassaError } from "@billing/yookassa";
import type { Clock } from "../../domain/clock.js";
import { isDefinitiveRefusal, providerFailure, refusalCodeOf } from "../provider.js";
import { mismatch, refusedCreateStep, unansweredCreateStep } from "../rules.js";
import type { Settled, Subject, TrackedRemote, TrackedRow } from "./subject.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Lifecycle<Row extends TrackedRow, Remote extends TrackedRemote, View> {
  constructor(
    private readonly subject: Subject<Row, Remote, View>,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Counts a mismatch for the operators' alert. */
    private readonly onMismatch: () => void,
  ) {}

  viewOf(row: Row): Promise<View> {
    return this.subject.viewOf(row);
  }

  /** Resumes a create (or settles one unanswered too long), or re-reads the object and applies it. */
  async sync(row: Row): Promise<Settled<View>> {
    const { subject } = this;
    if (row.status === "CREATING") {
      const ageMs = this.clock.now().getTime() - row.createdAt.getTime();
      const step = unansweredCreateStep(subject.kind, ageMs);
      if (step === "resume") return this.resume(row);
      if (step === "look_up") {
        const found = await this.#lookUp(row);
        if (found !== undefined) return this.#applyOrThrow(row.id, found);
      }
      return subject.giveUp(row.id, "create_unanswered");
    }
    const providerId = subject.providerIdOf(row);
    if (providerId == null) return { outcome: "UNCHANGED", view: await subject.viewOf(row) };
    return this.#applyOrThrow(row.id, await this.#read(providerId));
  }

  /** POST with the stored key and request; applies the answer. */
  async resume(row: Row): Promise<Settled<View>> {
    let remote: Remote;
    try {
      remote = await this.subject.create(row);
    } catch (error) {
      return this.#createFailed(row, error);
    }
    return this.#applyOrThrow(row.id, remote);
  }

  /** A notification names an object: undefined (IGNORED) when it is not one billing made. */
  async notified(providerId: string): Promise<Settled<View> | undefined> {
    const { subject } = this;
    let local = await subject.byProviderId(providerId);
    let remote: Remote;
    try {
      remote = await subject.read(providerId);
    } catch (error) {
      if (local === null && isYooKassaError(error) && error.kind === "not_found") return undefined;
      throw providerFailure(error, `reading ${subject.kind} ${providerId}`);
    }
    if (local === null) {
      // Ours, but the answer to our create was lost (billing stopped before storing it)?
      const claimed = subject.claimedIdOf(remote);
      local = UUID.test(claimed) ? await subject.unlinked(claimed) : null;
      if (local === null) {
        this.log.info(
          { provider_id: providerId, kind: subject.kind },
          "notification about an object billing did not make; ignored",
        );
        return undefined;
      }
    }
    return this.#applyOrThrow(local.id, remote);
  }

  async #createFailed(row: Row, error: unknown): Promise<Settled<View>> {
    const { kind } = this.subject;
    const failure = providerFailure(error, `the ${kind}`);
    const facts = { [`${kind}_id`]: row.id, ...failure.detail.metadata };
    if (!isDefinitiveRefusal(error)) {
      this.log.warn(
        facts,
        `YooKassa's answer to a ${kind} create is unknown; resumed later with the same key`,
      );
      throw failure;
    }
    if (refusedCreateStep(kind) === "look_up") {
      const found = await this.#lookUp(row);
      if (found !== undefined) {
        this.log.warn(
          facts,
          `YooKassa refused a repeated ${kind} create that an earlier attempt made; following YooKassa`,
        );
        return this.#applyOrThrow(row.id, found);
      }
    }
    this.log.error(facts, `YooKassa refused a ${kind}; billing cancels it`);
    await this.subject.giveUp(row.id, `provider_rejected:${refusalCodeOf(error)}`);
    throw failure;
  }

  async #read(providerId: string): Promise<Remote> {
    try {
      return await this.subject.read(providerId);
    } catch (error) {
      throw providerFailure(error, `reading ${this.subject.kind} ${providerId}`);
    }
  }

  async #lookUp(row: Row): Promise<Remote | undefined> {
    try {
      return await this.subject.lookUp(row);
    } catch (error) {
      throw providerFailure(error, `looking up ${this.subject.kind} ${row.id}`);
    }
  }

  async #applyOrThrow(id: string, remote: Remote): Promise<Settled<View>> {
    const { kind } = this.subject;
    const applied = await this.subject.apply(id, remote);
    if (applied.kind === "mismatch") {
      this.onMismatch();
      this.log.error(
        { [`${kind}_id`]: id, [`provider_${kind}_id`]: remote.id, problems: applied.problems },
        `${kind.toUpperCase()} MISMATCH: YooKassa's ${kind} disagrees with billing's; nothing moved, operators must look`,
      );
      throw mismatch(kind, id, remote.id, applied.problems);
    }
    return { outcome: applied.outcome, view: applied.view };
  }
}
