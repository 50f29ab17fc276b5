// The hot path splices its JSON values into SQL as string literals (two-trips.ts). Whatever a
// caller sends (quotes, backslashes, any Unicode), PostgreSQL must read back exactly that text.
import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { PG_ADMIN_URL, withPg } from "@billing/testkit";
import { quoteLiteral } from "../../src/ledger/store/two-trips.js";

/** Any text PostgreSQL can hold (no NUL; JSON, which is what the hot path quotes, never has one). */
const texts = fc
  .oneof(
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: fc.constantFrom("'", "\\", '"', "a", "$", "\n", "é"), maxLength: 40 }),
  )
  .filter((text) => !text.includes("\u0000"));

describe("SQL literals of the hot path", () => {
  it("are the literals pg's escapeLiteral makes", () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(quoteLiteral(text)).toBe(pg.escapeLiteral(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it("read back in PostgreSQL as the text they quote", async () => {
    await withPg(PG_ADMIN_URL, async (client) => {
      await fc.assert(
        fc.asyncProperty(fc.array(texts, { minLength: 1, maxLength: 20 }), async (batch) => {
          const sql = `select ${batch.map((text, i) => `${quoteLiteral(text)}::text as t${i}`).join(", ")}`;
          const result = await client.query<Record<string, string>>(sql);
          expect(batch.map((_text, i) => result.rows[0]?.[`t${i}`])).toEqual(batch);
        }),
        { numRuns: 200 },
      );
    });
  });
});
