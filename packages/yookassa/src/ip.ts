// Who sent a request: a small exact IPv4/IPv6 CIDR matcher, YooKassa's published sender ranges, and
// X-Forwarded-For handling that believes the header only from proxies we run ourselves.

/** YooKassa's notification senders, as published in the API docs. */
export const YOOKASSA_NOTIFICATION_CIDRS: readonly string[] = [
  "185.71.76.0/27",
  "185.71.77.0/27",
  "77.75.153.0/25",
  "77.75.156.11",
  "77.75.156.35",
  "77.75.154.128/25",
  "2a02:5180::/32",
];

export interface IpAddress {
  readonly version: 4 | 6;
  /** 4 or 16 bytes, network order. IPv4-mapped IPv6 addresses are stored as IPv4. */
  readonly bytes: Uint8Array;
}

export interface Cidr extends IpAddress {
  readonly prefixLength: number;
}

const IPV4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
// The longest textual IPv6 address is 45 characters; anything longer is not an address.
const MAX_ADDRESS_CHARS = 45;

function parseIpv4Bytes(text: string): Uint8Array | undefined {
  const match = IPV4.exec(text);
  if (match === null) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i += 1) {
    const octet = Number(match[i + 1]);
    if (octet > 255) return undefined;
    bytes[i] = octet;
  }
  return bytes;
}

function parseGroups(part: string): number[] | undefined {
  if (part === "") return [];
  const groups: number[] = [];
  const pieces = part.split(":");
  for (let i = 0; i < pieces.length; i += 1) {
    const piece = pieces[i] ?? "";
    // An embedded IPv4 tail ("::ffff:1.2.3.4") counts as two groups.
    if (i === pieces.length - 1 && piece.includes(".")) {
      const v4 = parseIpv4Bytes(piece);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!HEX_GROUP.test(piece)) return undefined;
    groups.push(Number.parseInt(piece, 16));
  }
  return groups;
}

function parseIpv6Bytes(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? "");
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  // An IPv4 tail is allowed only at the very end of the address.
  if (halves.length === 2 && (halves[0] ?? "").includes(".")) return undefined;
  const explicit = head.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const groups = [...head, ...Array<number>(8 - explicit).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i += 1) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Parses a textual address strictly (no zones, no octal/hex IPv4 forms, no surrounding spaces). */
export function parseIp(text: string): IpAddress | undefined {
  if (text.length === 0 || text.length > MAX_ADDRESS_CHARS) return undefined;
  if (!text.includes(":")) {
    const v4 = parseIpv4Bytes(text);
    return v4 === undefined ? undefined : { version: 4, bytes: v4 };
  }
  const v6 = parseIpv6Bytes(text);
  if (v6 === undefined) return undefined;
  // "::ffff:185.71.76.1" is how a dual-stack socket reports an IPv4 peer: it is that IPv4 peer.
  if (isV4Mapped(v6)) return { version: 4, bytes: v6.slice(12) };
  return { version: 6, bytes: v6 };
}

/** Canonical text: dotted IPv4, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
export function formatIp(address: IpAddress): string {
  const b = address.bytes;
  if (address.version === 4) return Array.from(b).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 8; i += 1) groups.push(((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** "10.0.0.0/8", "2a02:5180::/32", or a single address. Host bits must be zero (catches typos). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const address = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const mappedV6 = slash !== -1 && address.version === 4 && text.slice(0, slash).includes(":");
  const maxLength = address.version === 4 ? 32 : 128;
  let prefixLength = maxLength;
  if (slash !== -1) {
    const prefix = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return undefined;
    prefixLength = Number(prefix);
    // "::ffff:10.0.0.0/104" is written in IPv6 bits; it covers IPv4 10.0.0.0/8.
    if (mappedV6) {
      if (prefixLength < 96 || prefixLength > 128) return undefined;
      prefixLength -= 96;
    }
    if (prefixLength > maxLength) return undefined;
  }
  for (let bit = prefixLength; bit < maxLength; bit += 1) {
    if (((address.bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return undefined;
  }
  return { ...address, prefixLength };
}

function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.version !== address.version) return false;
  const fullBytes = cidr.prefixLength >> 3;
  for (let i = 0; i < fullBytes; i += 1) if (cidr.bytes[i] !== address.bytes[i]) return false;
  const restBits = cidr.prefixLength & 7;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return ((cidr.bytes[fullBytes] ?? 0) & mask) === ((address.bytes[fullBytes] ?? 0) & mask);
}

export interface IpMatcher {
  /** True when the address (text or parsed) is inside one of the ranges; false for unparsable text. */
  contains(address: string | IpAddress): boolean;
}

/** Throws at construction on a malformed range, so a bad configuration fails at start-up. */
export function createIpMatcher(cidrs: readonly string[]): IpMatcher {
  const ranges = cidrs.map((text) => {
    const cidr = parseCidr(text.trim());
    if (cidr === undefined) throw new RangeError(`not a CIDR range: ${JSON.stringify(text)}`);
    return cidr;
  });
  return {
    contains(address) {
      const parsed = typeof address === "string" ? parseIp(address) : address;
      return parsed !== undefined && ranges.some((range) => cidrContains(range, parsed));
    },
  };
}

const yooKassaSenders = createIpMatcher(YOOKASSA_NOTIFICATION_CIDRS);

/** Whether an address (as resolved by `resolveClientIp`) belongs to YooKassa's notification senders. */
export function isYooKassaAddress(address: string): boolean {
  return yooKassaSenders.contains(address);
}

export interface ResolveClientIpInput {
  /** The TCP peer (`req.socket.remoteAddress`). */
  readonly remoteAddress: string | undefined;
  /** The X-Forwarded-For header as Node gives it (several headers may arrive as an array). */
  readonly xForwardedFor?: string | readonly string[] | undefined;
  /** CIDRs of our own reverse proxies / load balancers. Empty: never believe X-Forwarded-For. */
  readonly trustedProxies: readonly string[] | IpMatcher;
}

// Each of our hops appends one entry; more than this many trusted hops means a loop or an attack.
const MAX_FORWARDED_HOPS = 16;

/**
 * The address of whoever really sent the request, in canonical form, or undefined when it cannot
 * be told. X-Forwarded-For is honoured only when the TCP peer is a trusted proxy, and then walked
 * from the right (entries added by our proxies), skipping trusted hops: the first untrusted entry is
 * the client. Entries left of it were written by the client and are never believed.
 */
export function resolveClientIp(input: ResolveClientIpInput): string | undefined {
  const trusted =
    "contains" in input.trustedProxies ? input.trustedProxies : createIpMatcher(input.trustedProxies);
  const peer = input.remoteAddress === undefined ? undefined : parseIp(input.remoteAddress);
  if (peer === undefined) return undefined;
  if (!trusted.contains(peer)) return formatIp(peer);
  const header =
    typeof input.xForwardedFor === "string" ? input.xForwardedFor : input.xForwardedFor?.join(",");
  if (header === undefined || header.trim() === "") return formatIp(peer);
  const entries = header.split(",");
  let client = peer;
  for (let hops = 0; hops < MAX_FORWARDED_HOPS; hops += 1) {
    const entry = entries.pop();
    if (entry === undefined) return formatIp(client); // every hop was ours
    const address = parseForwardedEntry(entry.trim());
    // Garbage where our proxy should have written an address: we cannot tell who it was.
    if (address === undefined) return undefined;
    if (!trusted.contains(address)) return formatIp(address);
    client = address;
  }
  return undefined;
}

/** "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:443". */
function parseForwardedEntry(entry: string): IpAddress | undefined {
  const bracketed = /^\[([^\]]+)\](?::[0-9]{1,5})?$/.exec(entry);
  if (bracketed !== null) return parseIp(bracketed[1] ?? "");
  const v4WithPort = /^([0-9.]+):[0-9]{1,5}$/.exec(entry);
  if (v4WithPort !== null) return parseIp(v4WithPort[1] ?? "");
  return parseIp(entry);
}
