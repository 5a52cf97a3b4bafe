import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** TRUST_PROXY as configured: off, any peer, a hop count, or addresses / subnets / range names. */
export type TrustProxySetting = boolean | number | string[];

export type TrustFn = (address: string, hop: number) => boolean;

/** The same reading of TRUST_PROXY Express gives its `trust proxy` setting, as one function for every transport. */
export function compileTrust(setting: TrustProxySetting): TrustFn {
  if (setting === true) return () => true;
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyAddr.compile(setting);
}

/**
 * The client's address for rate limits: X-Forwarded-For is read only as far as TRUST_PROXY trusts the peers
 * that wrote it. HTTP gets it through Express's `req.ip`; a WebSocket upgrade request has no Express around it.
 */
export function clientAddress(req: IncomingMessage, trust: TrustFn): string {
  try {
    return proxyAddr(req, trust) || 'unknown';
  } catch {
    return req.socket.remoteAddress ?? 'unknown';
  }
}
