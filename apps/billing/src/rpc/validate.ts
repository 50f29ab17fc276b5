// Input validation at the edge: each check adds a field violation; `done()` throws one
// INVALID_ARGUMENT listing all of them, so a caller fixes every field in one round trip.
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { invalidFields, type FieldViolation } from "../domain/errors.js";

const USER_REF = /^[A-Za-z0-9:_.@-]{1,128}$/;
const KEY = /^[\x21-\x7e]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** C0 controls but tab, LF and CR; DEL; C1 controls. PostgreSQL refuses NUL in text and jsonb. */
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const NESTING_MAX = 16;
/** google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const TIMESTAMP_SECONDS_MIN = -62_135_596_800n;
const TIMESTAMP_SECONDS_MAX = 253_402_300_799n;

export class Validator {
  readonly #violations: FieldViolation[] = [];

  #fail(field: string, description: string): void {
    this.#violations.push({ field, description });
  }

  userRef(field: string, value: string): string {
    if (!USER_REF.test(value))
      this.#fail(field, "must be 1-128 characters of letters, digits and :_.@- (e.g. telegram:123456)");
    return value;
  }

  idempotencyKey(field: string, value: string): string {
    if (!KEY.test(value)) this.#fail(field, "must be 1-128 printable ASCII characters without spaces");
    return value;
  }

  uuid(field: string, value: string): string {
    if (!UUID.test(value)) this.#fail(field, "must be a UUID as returned by billing");
    return value.toLowerCase();
  }

  /** Free text such as a reason: printable, bounded; `required` refuses the empty string. */
  text(field: string, value: string, options: { max: number; required: boolean }): string {
    if (options.required && value.trim() === "") this.#fail(field, "is required");
    else if (value.length > options.max) this.#fail(field, `must be at most ${options.max} characters`);
    else if (CONTROL_CHARACTER.test(value)) this.#fail(field, "must not contain control characters");
    return value;
  }

  /** An identifier such as an operation or metric name. */
  name(field: string, value: string): string {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(value))
      this.#fail(field, "must be a lower-case name like generate or chat_tokens");
    return value;
  }

  nonNegative(field: string, value: bigint): bigint {
    if (value < 0n) this.#fail(field, "must not be negative");
    return value;
  }

  positive(field: string, value: bigint): bigint {
    if (value <= 0n) this.#fail(field, "must be positive");
    return value;
  }

  pageSize(field: string, value: number, max: number): number {
    if (!Number.isInteger(value) || value < 0 || value > max)
      this.#fail(field, `must be between 1 and ${max} (0 = default)`);
    return value;
  }

  /** An optional instant, in microseconds since the Unix epoch (finer than a microsecond is dropped). */
  instant(field: string, value: { seconds: bigint; nanos: number } | undefined): bigint | undefined {
    if (value === undefined) return undefined;
    const { seconds, nanos } = value;
    if (
      seconds < TIMESTAMP_SECONDS_MIN ||
      seconds > TIMESTAMP_SECONDS_MAX ||
      !Number.isInteger(nanos) ||
      nanos < 0 ||
      nanos > 999_999_999
    ) {
      this.#fail(field, "must be a valid timestamp between years 1 and 9999");
      return undefined;
    }
    return seconds * 1_000_000n + BigInt(Math.floor(nanos / 1000));
  }

  /** Values of a repeated enum field: each must be one of `known`; at most `max` of them. */
  enumValues<T>(field: string, values: readonly number[], known: ReadonlyMap<number, T>, max: number): T[] {
    if (values.length > max) {
      this.#fail(field, `must list at most ${max} values`);
      return [];
    }
    const found: T[] = [];
    values.forEach((value, index) => {
      const mapped = known.get(value);
      if (mapped === undefined) this.#fail(`${field}[${index}]`, `${value} is not a known value`);
      else found.push(mapped);
    });
    return found;
  }

  check(condition: boolean, field: string, description: string): void {
    if (!condition) this.#fail(field, description);
  }

  /** Throws INVALID_ARGUMENT with every violation found, if any. */
  done(): void {
    if (this.#violations.length > 0) throw invalidFields(this.#violations);
  }
}

export function validate<T>(check: (v: Validator) => T): T {
  const validator = new Validator();
  const result = check(validator);
  validator.done();
  return result;
}

/**
 * Refuses, before any handler sees the request, every string field (nested messages, lists and
 * maps included) that holds a control character or an unpaired surrogate; each is named in proto
 * notation, e.g. `customer_email` or `units[2].metric`.
 */
export function refuseControlCharacters(schema: DescMessage, message: object): void {
  const violations: FieldViolation[] = [];
  visitStrings(schema, message, "", 0, (field, value) => {
    if (CONTROL_CHARACTER.test(value))
      violations.push({ field, description: "must not contain control characters" });
    else if (!value.isWellFormed()) violations.push({ field, description: "must be well-formed Unicode" });
  });
  if (violations.length > 0) throw invalidFields(violations);
}

type StringVisitor = (field: string, value: string) => void;

function visitStrings(
  schema: DescMessage,
  message: object,
  prefix: string,
  depth: number,
  visit: StringVisitor,
) {
  if (depth > NESTING_MAX) return;
  const values = message as Record<string, unknown>;
  for (const field of schema.fields) {
    let value: unknown;
    if (field.oneof === undefined) value = values[field.localName];
    else {
      const chosen = values[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (chosen?.case !== field.localName) continue;
      value = chosen.value;
    }
    if (value !== undefined) visitField(field, value, `${prefix}${field.name}`, depth, visit);
  }
}

function visitField(field: DescField, value: unknown, path: string, depth: number, visit: StringVisitor) {
  switch (field.fieldKind) {
    case "scalar":
      if (field.scalar === ScalarType.STRING) visit(path, value as string);
      return;
    case "message":
      visitStrings(field.message, value as object, `${path}.`, depth + 1, visit);
      return;
    case "list":
      for (const [index, item] of (value as unknown[]).entries()) {
        if (field.listKind === "message")
          visitStrings(field.message, item as object, `${path}[${index}].`, depth + 1, visit);
        else if (field.listKind === "scalar" && field.scalar === ScalarType.STRING)
          visit(`${path}[${index}]`, item as string);
      }
      return;
    case "map":
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (field.mapKey === ScalarType.STRING) visit(`${path}[key]`, key);
        if (field.mapKind === "message")
          visitStrings(field.message, item as object, `${path}[${key}].`, depth + 1, visit);
        else if (field.mapKind === "scalar" && field.scalar === ScalarType.STRING)
          visit(`${path}[${key}]`, item as string);
      }
      return;
    case "enum":
      return;
  }
}
