import { describe, expect, it } from 'vitest';
import { AddressPolicy } from './address-policy.js';

const strict = new AddressPolicy();
const reason = (address: string, policy = strict): string | undefined => policy.checkAddress(address)?.reason;

describe('AddressPolicy', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.5.6.7', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.1.2.3', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['fd12:3456::1', 'a private address'],
    ['fc00::1', 'a private address'],
    ['169.254.1.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['224.0.0.1', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['255.255.255.255', 'a broadcast address'],
    ['169.254.169.254', 'a link-local/metadata address'],
    ['fd00:ec2::254', 'a link-local/metadata address'],
    ['100.100.100.200', 'a link-local/metadata address'],
  ])('refuses %s as %s', (address, what) => {
    expect(reason(address)).toBe(`${address} is ${what}`);
  });

  it('refuses IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of blocked IPv4 addresses', () => {
    expect(reason('::ffff:127.0.0.1')).toBe('::ffff:127.0.0.1 is a loopback address (it embeds 127.0.0.1)');
    expect(reason('::ffff:a9fe:a9fe')).toBe(
      '::ffff:a9fe:a9fe is a link-local/metadata address (it embeds 169.254.169.254)',
    );
    expect(reason('::10.0.0.1')).toBe('::10.0.0.1 is a private address (it embeds 10.0.0.1)');
    expect(reason('64:ff9b::a00:1')).toBe('64:ff9b::a00:1 is a private address (it embeds 10.0.0.1)');
    expect(reason('2002:c0a8:0101::1')).toBe(
      '2002:c0a8:0101::1 is a private address (it embeds 192.168.1.1)',
    );
  });

  it('lets public addresses through', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '172.32.0.1']) {
      expect(strict.checkAddress(address)).toBeUndefined();
    }
  });

  it('refuses metadata hostnames before any DNS', () => {
    expect(strict.checkHostname('metadata.google.internal')?.reason).toBe(
      'metadata.google.internal is a metadata hostname',
    );
    expect(strict.checkHostname('METADATA.GOOGLE.INTERNAL.')?.address).toBe('metadata.google.internal');
    expect(strict.checkHostname('[::1]')?.reason).toBe('::1 is a loopback address');
    expect(strict.checkHostname('example.com')).toBeUndefined();
  });

  it('allows listed IPs, CIDRs and hostnames, and nothing else', () => {
    const policy = new AddressPolicy(['127.0.0.1', '10.0.0.0/8', ' internal.example ', '::1']);
    expect(reason('127.0.0.1', policy)).toBeUndefined();
    expect(reason('::ffff:127.0.0.1', policy)).toBeUndefined();
    expect(reason('10.200.0.1', policy)).toBeUndefined();
    expect(reason('::1', policy)).toBeUndefined();
    expect(reason('127.0.0.2', policy)).toBe('127.0.0.2 is a loopback address');
    expect(reason('192.168.0.1', policy)).toBe('192.168.0.1 is a private address');
    expect(policy.allowsHost('Internal.Example')).toBe(true);
    expect(policy.allowsHost('other.example')).toBe(false);
  });

  it('opens a metadata address only when it is named exactly, not through a wider range', () => {
    expect(reason('169.254.169.254', new AddressPolicy(['169.254.0.0/16']))).toBe(
      '169.254.169.254 is a link-local/metadata address',
    );
    expect(reason('169.254.1.1', new AddressPolicy(['169.254.0.0/16']))).toBeUndefined();
    expect(reason('169.254.169.254', new AddressPolicy(['169.254.169.254/32']))).toBeUndefined();
    expect(new AddressPolicy(['metadata.google.internal']).checkHostname('metadata.google.internal')).toBe(
      undefined,
    );
  });

  it('refuses a bad allowlist entry, naming it', () => {
    expect(() => new AddressPolicy(['10.0.0.0/33'])).toThrow(
      'HTTP_EXECUTOR_ALLOW_HOSTS: "10.0.0.0/33" is not a valid CIDR',
    );
    expect(() => new AddressPolicy(['exa mple'])).toThrow(
      'HTTP_EXECUTOR_ALLOW_HOSTS: "exa mple" is neither a hostname, an IP address nor a CIDR',
    );
  });
});
