// A seeded generator for the local provider: the same job and seed give the same numbers on every
// machine (Math.random would not), so the same input gives a byte-identical picture.
import { createHash } from "node:crypto";

/** xoshiro128** over a SHA-256 of the parts; good enough for pictures, not for secrets. */
export class Prng {
  readonly #state = new Uint32Array(4);

  constructor(...parts: (string | bigint | Uint8Array)[]) {
    const hash = createHash("sha256");
    for (const part of parts) {
      // Length-prefixed so ("ab", "c") and ("a", "bc") differ.
      const bytes = part instanceof Uint8Array ? part : Buffer.from(String(part), "utf8");
      hash.update(String(bytes.length)).update(":").update(bytes);
    }
    const digest = hash.digest();
    for (let i = 0; i < 4; i += 1) this.#state[i] = digest.readUInt32LE(i * 4);
    if (this.#state.every((word) => word === 0)) this.#state[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#state;
    const s0 = s[0] ?? 0;
    const s1 = s[1] ?? 0;
    const s2 = s[2] ?? 0;
    const s3 = s[3] ?? 0;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    let n2 = (s2 ^ s0) >>> 0;
    let n3 = (s3 ^ s1) >>> 0;
    const n1 = (s1 ^ n2) >>> 0;
    const n0 = (s0 ^ n3) >>> 0;
    n2 = (n2 ^ t) >>> 0;
    n3 = rotl(n3, 11);
    s[0] = n0;
    s[1] = n1;
    s[2] = n2;
    s[3] = n3;
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }
}

function rotl(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}
