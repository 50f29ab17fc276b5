// Sender checks: CIDR matching for IPv4/IPv6 and X-Forwarded-For that cannot be spoofed.
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import {
  YOOKASSA_NOTIFICATION_CIDRS,
  createIpMatcher,
  formatIp,
  isYooKassaAddress,
  parseCidr,
  parseIp,
  resolveClientIp,
} from "../src/index.js";

describe("parseIp / formatIp", () => {
  it.each([
    ["185.71.76.1", "185.71.76.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::ffff:185.71.76.1", "185.71.76.1"],
    ["::FFFF:b947:4c01", "185.71.76.1"],
    ["0:0:0:0:0:ffff:185.71.76.1", "185.71.76.1"],
    ["2a02:5180::1", "2a02:5180::1"],
    ["2A02:5180:0:0:0:0:0:1", "2a02:5180::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8::0:1", "2001:db8::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
  ])("reads %s as %s", (text, canonical) => {
    const parsed = parseIp(text);
    expect(parsed).toBeDefined();
    expect(formatIp(parsed!)).toBe(canonical);
  });

  it.each([
    "",
    "185.71.76",
    "185.71.76.1.2",
    "185.71.76.256",
    "185.071.076.001", // octal-looking: refused rather than guessed
    "0x7f.0.0.1",
    "2130706433",
    " 185.71.76.1",
    "185.71.76.1 ",
    "185.71.76.1/32",
    "1::2::3",
    ":::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "12345::1",
    "fe80::1%eth0",
    "1.2.3.4::",
    "::1.2.3.4.5",
    "g::1",
    "unknown",
    "a".repeat(100),
  ])("refuses %j", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it("round-trips random IPv4 and IPv6 addresses through text", () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(formatIp(parseIp(text)!)).toBe(text);
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseIp(text);
        expect(parsed).toBeDefined();
        expect(formatIp(parseIp(formatIp(parsed!))!)).toBe(formatIp(parsed!));
      }),
    );
  });
});

describe("CIDR matching", () => {
  it("matches YooKassa's published ranges exactly at their edges", () => {
    const inside = [
      "185.71.76.0",
      "185.71.76.31",
      "185.71.77.17",
      "77.75.153.0",
      "77.75.153.127",
      "77.75.156.11",
      "77.75.156.35",
      "77.75.154.128",
      "77.75.154.255",
      "2a02:5180::1",
      "2a02:5180:ffff:ffff:ffff:ffff:ffff:ffff",
      "::ffff:185.71.76.1",
    ];
    const outside = [
      "185.71.76.32",
      "185.71.75.255",
      "185.71.77.32",
      "77.75.153.128",
      "77.75.156.12",
      "77.75.156.34",
      "77.75.154.127",
      "2a02:5181::1",
      "2a02:517f:ffff::1",
      "127.0.0.1",
      "10.0.0.1",
      "::1",
      "::ffff:185.71.76.32",
      "::b947:4c01", // IPv4-compatible (deprecated) form is not the IPv4 address
      "not an ip",
    ];
    for (const ip of inside) expect(isYooKassaAddress(ip), ip).toBe(true);
    for (const ip of outside) expect(isYooKassaAddress(ip), ip).toBe(false);
    expect(YOOKASSA_NOTIFICATION_CIDRS).toHaveLength(7);
  });

  it("agrees with a brute-force bit comparison for random IPv4 ranges", () => {
    const toNumber = (ip: string): number =>
      ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (base, prefix, candidate) => {
        const size = 2 ** (32 - prefix);
        const network = Math.floor(toNumber(base) / size) * size;
        const networkText = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
        const matcher = createIpMatcher([`${networkText}/${String(prefix)}`]);
        const expected = Math.floor(toNumber(candidate) / size) * size === network;
        expect(matcher.contains(candidate)).toBe(expected);
      }),
    );
  });

  it("reads IPv4-mapped CIDRs in IPv6 notation and refuses malformed ranges", () => {
    expect(createIpMatcher(["::ffff:10.0.0.0/104"]).contains("10.200.3.4")).toBe(true);
    expect(createIpMatcher(["::ffff:10.0.0.0/104"]).contains("11.0.0.1")).toBe(false);
    expect(createIpMatcher(["0.0.0.0/0"]).contains("8.8.8.8")).toBe(true);
    expect(createIpMatcher(["0.0.0.0/0"]).contains("::1")).toBe(false);
    expect(createIpMatcher(["::/0"]).contains("2001:db8::1")).toBe(true);
    for (const bad of [
      "10.0.0.1/8",
      "10.0.0.0/33",
      "2a02:5180::/129",
      "10.0.0.0/",
      "10.0.0.0/08",
      "banana",
      "::ffff:10.0.0.0/8",
    ]) {
      expect(parseCidr(bad), bad).toBeUndefined();
      expect(() => createIpMatcher([bad])).toThrow(RangeError);
    }
  });
});

describe("resolveClientIp", () => {
  const proxies = ["10.0.0.0/8", "fd00::/8"];

  it("uses the TCP peer when it is not a trusted proxy, whatever X-Forwarded-For says", () => {
    expect(
      resolveClientIp({
        remoteAddress: "203.0.113.9",
        xForwardedFor: "185.71.76.1",
        trustedProxies: proxies,
      }),
    ).toBe("203.0.113.9");
    // No proxies configured: the header is never believed.
    expect(
      resolveClientIp({ remoteAddress: "10.1.2.3", xForwardedFor: "185.71.76.1", trustedProxies: [] }),
    ).toBe("10.1.2.3");
    expect(resolveClientIp({ remoteAddress: "::ffff:185.71.76.5", trustedProxies: proxies })).toBe(
      "185.71.76.5",
    );
  });

  it("behind a trusted proxy, takes the entry the proxy appended (the rightmost untrusted one)", () => {
    expect(
      resolveClientIp({ remoteAddress: "10.0.0.2", xForwardedFor: "185.71.76.1", trustedProxies: proxies }),
    ).toBe("185.71.76.1");
    // An attacker sends X-Forwarded-For: 185.71.76.1; the proxy appends the attacker's real address.
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: "185.71.76.1, 203.0.113.9",
        trustedProxies: proxies,
      }),
    ).toBe("203.0.113.9");
  });

  it("skips several trusted hops, from the right", () => {
    expect(
      resolveClientIp({
        remoteAddress: "::ffff:10.0.0.2",
        xForwardedFor: ["198.51.100.7, 185.71.77.10", "10.9.9.9"],
        trustedProxies: proxies,
      }),
    ).toBe("185.71.77.10");
    expect(
      resolveClientIp({
        remoteAddress: "fd00::2",
        xForwardedFor: "2a02:5180::7, fd00::1",
        trustedProxies: proxies,
      }),
    ).toBe("2a02:5180::7");
  });

  it("accepts entries with ports and brackets", () => {
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: "185.71.76.1:4431",
        trustedProxies: proxies,
      }),
    ).toBe("185.71.76.1");
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: "[2a02:5180::7]:443",
        trustedProxies: proxies,
      }),
    ).toBe("2a02:5180::7");
  });

  it("gives up (undefined) on garbage where the client address should be, and on no peer", () => {
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: "185.71.76.1, unknown",
        trustedProxies: proxies,
      }),
    ).toBeUndefined();
    expect(
      resolveClientIp({ remoteAddress: "10.0.0.2", xForwardedFor: "185.71.76.1,,", trustedProxies: proxies }),
    ).toBeUndefined();
    expect(
      resolveClientIp({ remoteAddress: undefined, xForwardedFor: "185.71.76.1", trustedProxies: proxies }),
    ).toBeUndefined();
    expect(resolveClientIp({ remoteAddress: "garbage", trustedProxies: proxies })).toBeUndefined();
  });

  it("garbage left of the real client (written by the client) does not matter", () => {
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: "<script>, 185.71.76.1",
        trustedProxies: proxies,
      }),
    ).toBe("185.71.76.1");
  });

  it("when every hop is ours, the client is the furthest one; an endless chain is refused", () => {
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: "10.0.0.9, 10.0.0.3",
        trustedProxies: proxies,
      }),
    ).toBe("10.0.0.9");
    expect(resolveClientIp({ remoteAddress: "10.0.0.2", trustedProxies: proxies })).toBe("10.0.0.2");
    const loop = Array.from({ length: 40 }, () => "10.0.0.1").join(",");
    expect(
      resolveClientIp({
        remoteAddress: "10.0.0.2",
        xForwardedFor: `185.71.76.1,${loop}`,
        trustedProxies: proxies,
      }),
    ).toBeUndefined();
  });

  it("accepts a prebuilt matcher (parse the configuration once)", () => {
    const matcher = createIpMatcher(proxies);
    const client = resolveClientIp({
      remoteAddress: "10.0.0.2",
      xForwardedFor: "185.71.76.1",
      trustedProxies: matcher,
    });
    expect(client).toBe("185.71.76.1");
    expect(isYooKassaAddress(client!)).toBe(true);
  });
});
