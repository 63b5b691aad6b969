// Which addresses the http executor may connect to: blocked ranges, metadata endpoints, the allowlist.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/** Why an address is refused, worded for "X is a … address". */
type Kind =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'link-local/metadata'
  | 'multicast'
  | 'unspecified'
  | 'carrier-grade NAT'
  | 'broadcast'
  | 'reserved';

const cidr = (text: string): Cidr => ipaddr.parseCIDR(text);

/**
 * Ranges no task may reach unless the allowlist says so: the host itself, the local networks and
 * the cloud control planes behind them. Public unicast is everything else.
 */
const BLOCKED: readonly (readonly [Cidr, Kind])[] = [
  [cidr('0.0.0.0/8'), 'unspecified'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'carrier-grade NAT'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'reserved'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'], // before 240/4, which contains it: first match wins
  [cidr('240.0.0.0/4'), 'reserved'],
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('fc00::/7'), 'private'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'reserved'],
  [cidr('ff00::/8'), 'multicast'],
];

/** Instance-metadata endpoints (AWS, GCP, Azure, ECS, Alibaba, Oracle): credentials live there. */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254',
  '169.254.169.253',
  '169.254.170.2',
  '100.100.100.200',
  '192.0.0.192',
  'fd00:ec2::254',
]);
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * IPv6 forms that carry an IPv4 address the packet may end up at: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/48).
 */
function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = addr.parts;
  const v4 = (hi: number, lo: number): ipaddr.IPv4 =>
    new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (addr.isIPv4MappedAddress()) return addr.toIPv4Address();
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) {
    // ::/96 but not :: or ::1, which the table names.
    if (p[6] !== 0) return v4(p[6]!, p[7]!);
    return undefined;
  }
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) {
    return v4(p[6]!, p[7]!);
  }
  if (p[0] === 0x2002) return v4(p[1]!, p[2]!);
  return undefined;
}

function kindOf(addr: Address): Kind | undefined {
  if (METADATA_ADDRESSES.has(addr.toNormalizedString()) || METADATA_ADDRESSES.has(addr.toString())) {
    return 'link-local/metadata';
  }
  for (const [[net, bits], kind] of BLOCKED) {
    if (net.kind() === addr.kind() && addr.match(net, bits)) return kind;
  }
  return undefined;
}

/** A refused destination: `reason` reads "169.254.169.254 is a link-local/metadata address". */
export interface Refusal {
  address: string;
  /** What the address is, e.g. "a loopback address (it embeds 127.0.0.1)". */
  kind: string;
  reason: string;
}

/** Strips the brackets URL.hostname keeps around an IPv6 literal. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * The http executor's destination policy. `allow` entries are hostnames (exact, case-insensitive),
 * IP addresses or CIDRs; they open blocked destinations. A metadata address opens only by naming
 * it exactly (an IP or a /32 or /128), never through a wider range such as 169.254.0.0/16.
 */
export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly ranges: Cidr[] = [];
  private readonly exact = new Set<string>();

  constructor(allow: readonly string[] = []) {
    for (const raw of allow) {
      const entry = bareHost(raw.trim().toLowerCase());
      if (entry === '') continue;
      if (entry.includes('/')) {
        if (!ipaddr.isValidCIDR(entry) || !isIP(entry.split('/')[0]!)) {
          throw new Error(`HTTP_EXECUTOR_ALLOW_HOSTS: ${JSON.stringify(raw)} is not a valid CIDR`);
        }
        const range = cidr(entry);
        this.ranges.push(range);
        const full = range[0].kind() === 'ipv4' ? 32 : 128;
        if (range[1] === full) this.exact.add(range[0].toNormalizedString());
      } else if (isIP(entry)) {
        const addr = ipaddr.parse(entry);
        this.ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
        this.exact.add(addr.toNormalizedString());
      } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(entry)) {
        this.hosts.add(entry.replace(/\.$/, ''));
      } else {
        throw new Error(
          `HTTP_EXECUTOR_ALLOW_HOSTS: ${JSON.stringify(raw)} is neither a hostname, an IP address nor a CIDR`,
        );
      }
    }
  }

  /** True when the hostname itself is allowed: its addresses are then not checked. */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(bareHost(hostname).toLowerCase().replace(/\.$/, ''));
  }

  /** A refusal for a hostname that is itself a metadata endpoint, before any DNS. */
  checkHostname(hostname: string): Refusal | undefined {
    const host = bareHost(hostname).toLowerCase().replace(/\.$/, '');
    if (this.hosts.has(host)) return undefined;
    if (METADATA_HOSTS.has(host)) {
      return { address: host, kind: 'a metadata hostname', reason: `${host} is a metadata hostname` };
    }
    return isIP(host) ? this.checkAddress(host) : undefined;
  }

  /** A refusal for one resolved (or literal) address, or undefined when it may be reached. */
  checkAddress(address: string): Refusal | undefined {
    let addr: Address;
    try {
      addr = ipaddr.parse(address);
    } catch {
      return { address, kind: 'not an IP address', reason: `${address} is not an IP address` };
    }
    const v4 = addr.kind() === 'ipv6' ? embeddedIPv4(addr as ipaddr.IPv6) : undefined;
    for (const candidate of v4 ? [addr, v4] : [addr]) {
      const kind = kindOf(candidate);
      if (kind === undefined || this.allows(candidate, kind)) continue;
      const via = candidate === addr ? '' : ` (it embeds ${candidate.toString()})`;
      const what = `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} address${via}`;
      return { address, kind: what, reason: `${address} is ${what}` };
    }
    return undefined;
  }

  private allows(addr: Address, kind: Kind): boolean {
    if (kind === 'link-local/metadata') return this.exact.has(addr.toNormalizedString());
    return this.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
  }
}
