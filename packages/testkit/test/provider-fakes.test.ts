// The fakes' own contract, checked with plain fetch: what the adapters rely on must hold here.
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeDataUri, encodeTestPng, startFakeFal, startFakeGemini } from "../src/index.js";

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe("encodeTestPng", () => {
  it("writes a PNG whose header and pixels read back", () => {
    const bytes = Buffer.from(encodeTestPng(3, 2, (x, y) => [x * 10, y * 20, 7, 255]));
    expect(bytes.subarray(1, 4).toString("ascii")).toBe("PNG");
    expect(bytes.readUInt32BE(16)).toBe(3);
    expect(bytes.readUInt32BE(20)).toBe(2);
    const idatLength = bytes.readUInt32BE(33);
    expect(bytes.subarray(37, 41).toString("ascii")).toBe("IDAT");
    const raw = inflateSync(bytes.subarray(41, 41 + idatLength));
    // Row 1 (filter byte, then RGBA): pixel (2, 1) = [20, 20, 7, 255].
    expect([...raw.subarray(13 + 1 + 8, 13 + 1 + 12)]).toEqual([20, 20, 7, 255]);
  });

  it("round-trips data URIs", () => {
    const decoded = decodeDataUri(`data:image/jpeg;base64,${Buffer.from([1, 2, 3]).toString("base64")}`);
    expect(decoded.mimeType).toBe("image/jpeg");
    expect([...decoded.bytes]).toEqual([1, 2, 3]);
  });
});

describe("startFakeFal", () => {
  it("checks the key, then moves a request IN_QUEUE → IN_PROGRESS → COMPLETED", async () => {
    const fal = await startFakeFal({ pollsUntilComplete: 2 });
    try {
      const body = JSON.stringify({ prompt: "p" });
      expect((await fetch(`${fal.baseUrl}/fal-ai/flux/dev`, { method: "POST", body })).status).toBe(401);
      const submitted = await json(
        await fetch(`${fal.baseUrl}/fal-ai/flux/dev`, {
          method: "POST",
          body,
          headers: { authorization: `Key ${fal.apiKey}` },
        }),
      );
      expect(submitted["status_url"]).toBe(
        `${fal.baseUrl}/fal-ai/flux/requests/${String(submitted["request_id"])}/status`,
      );
      const auth = { headers: { authorization: `Key ${fal.apiKey}` } };
      expect((await fetch(String(submitted["response_url"]), auth)).status).toBe(400);
      const states: [number, unknown][] = [];
      for (let i = 0; i < 3; i += 1) {
        const response = await fetch(String(submitted["status_url"]), auth);
        states.push([response.status, (await json(response))["status"]]);
      }
      expect(states).toEqual([
        [202, "IN_QUEUE"],
        [202, "IN_PROGRESS"],
        [200, "COMPLETED"],
      ]);
      const result = await json(await fetch(String(submitted["response_url"]), auth));
      const [image] = result["images"] as { url: string; content_type: string }[];
      const file = await fetch(image!.url);
      expect(file.headers.get("content-type")).toBe("image/png");
      expect(
        Buffer.from(await file.arrayBuffer())
          .subarray(1, 4)
          .toString("ascii"),
      ).toBe("PNG");
      expect(fal.submissions[0]?.input).toEqual({ prompt: "p" });
    } finally {
      await fal.close();
    }
  });

  it("serves each injected fault once, on its stage", async () => {
    const fal = await startFakeFal();
    try {
      fal.failNext("submit", { type: "rate_limit", retryAfterSeconds: 4 });
      const init = { method: "POST", body: "{}", headers: { authorization: `Key ${fal.apiKey}` } };
      const limited = await fetch(`${fal.baseUrl}/fal-ai/flux/dev`, init);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("4");
      expect((await fetch(`${fal.baseUrl}/fal-ai/flux/dev`, init)).status).toBe(200);
      fal.failNext("submit", { type: "drop" });
      await expect(fetch(`${fal.baseUrl}/fal-ai/flux/dev`, init)).rejects.toThrow();
    } finally {
      await fal.close();
    }
  });
});

describe("startFakeGemini", () => {
  const url = (base: string): string => `${base}/v1beta/models/gemini-2.5-flash-image:generateContent`;
  const body = JSON.stringify({
    contents: [
      {
        parts: [
          { text: "p" },
          { inline_data: { mime_type: "image/png", data: Buffer.from([9, 8]).toString("base64") } },
        ],
      },
    ],
    generationConfig: { responseModalities: ["TEXT", "IMAGE"] },
  });

  it("answers like the Gemini API: key errors, inline PNG, recorded input", async () => {
    const gemini = await startFakeGemini();
    try {
      const missing = await fetch(url(gemini.baseUrl), { method: "POST", body });
      expect(missing.status).toBe(403);
      const wrong = await json(
        await fetch(url(gemini.baseUrl), { method: "POST", body, headers: { "x-goog-api-key": "nope" } }),
      );
      expect(wrong["error"]).toMatchObject({
        code: 400,
        status: "INVALID_ARGUMENT",
        details: [{ reason: "API_KEY_INVALID" }],
      });
      const ok = await json(
        await fetch(url(gemini.baseUrl), {
          method: "POST",
          body,
          headers: { "x-goog-api-key": gemini.apiKey },
        }),
      );
      const parts = (
        ok["candidates"] as { content: { parts: Record<string, { mimeType: string; data: string }>[] } }[]
      )[0]!.content.parts;
      const inline = parts.find((part) => part["inlineData"] !== undefined)!["inlineData"]!;
      expect(inline.mimeType).toBe("image/png");
      expect(Buffer.from(inline.data, "base64").subarray(1, 4).toString("ascii")).toBe("PNG");
      expect(gemini.calls[0]).toMatchObject({ text: "p", model: "gemini-2.5-flash-image" });
      expect([...gemini.calls[0]!.images[0]!.bytes]).toEqual([9, 8]);
    } finally {
      await gemini.close();
    }
  });

  it("injects refusals as HTTP 200 with block reasons", async () => {
    const gemini = await startFakeGemini();
    try {
      gemini.failNext({ type: "prompt_blocked" });
      const init = { method: "POST", body, headers: { "x-goog-api-key": gemini.apiKey } };
      const blocked = await fetch(url(gemini.baseUrl), init);
      expect(blocked.status).toBe(200);
      expect(await json(blocked)).toMatchObject({ promptFeedback: { blockReason: "SAFETY" } });
      gemini.failNext({ type: "rate_limit" });
      const limited = await json(await fetch(url(gemini.baseUrl), init));
      expect(limited["error"]).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    } finally {
      await gemini.close();
    }
  });
});
