import type { NetworkInfo, NetworkLookup } from '../baselines/features.js';

/**
 * The address blocks reserved for documentation (RFC 5737) mapped to the AS
 * numbers reserved for documentation (RFC 5398). Rule cases, the bundled
 * sample and tests use only these, so they get stable networks without real
 * lookup data; real traffic never contains them, so chaining this after the
 * real lookup changes nothing in production.
 */
const DOCUMENTATION_NETWORKS: ReadonlyArray<readonly [string, NetworkInfo]> = [
  ['198.51.100.', { asn: 64500, asnName: 'EXAMPLE-OFFICE-ISP', country: 'US' }],
  ['203.0.113.', { asn: 64501, asnName: 'EXAMPLE-HOSTING', country: 'NL' }],
  ['192.0.2.', { asn: 64502, asnName: 'EXAMPLE-HOME-ISP', country: 'GB' }],
];

export const documentationNetworkLookup: NetworkLookup = (ip) => {
  for (const [prefix, info] of DOCUMENTATION_NETWORKS) if (ip.startsWith(prefix)) return info;
  return undefined;
};

/** The first lookup that knows the address answers. */
export function chainLookups(...lookups: readonly NetworkLookup[]): NetworkLookup {
  return (ip) => {
    for (const lookup of lookups) {
      const info = lookup(ip);
      if (info !== undefined) return info;
    }
    return undefined;
  };
}
