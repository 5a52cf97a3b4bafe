import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/**
 * Addresses no webhook may reach unless WEBHOOK_ALLOW_PRIVATE is set: the server's own network and the cloud
 * metadata service. "This host" (0/8), private (RFC 1918), shared (CGNAT), loopback, link-local (169.254/16,
 * which holds 169.254.169.254), multicast and reserved v4; unspecified, loopback, unique-local, link-local and
 * multicast v6 (a v4-mapped v6 address is judged as its v4 address).
 */
const FORBIDDEN = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  FORBIDDEN.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  FORBIDDEN.addSubnet(prefix, bits, 'ipv6');

const MAPPED_V4 = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i;

/** True for an address of the server's own network (see FORBIDDEN). */
export function isPrivateAddress(address: string): boolean {
  const mapped = MAPPED_V4.exec(address);
  if (mapped) {
    const v4 = mapped[1] ?? [mapped[2], mapped[3]].flatMap((h) => [parseInt(h, 16) >> 8, parseInt(h, 16) & 255]).join('.');
    return FORBIDDEN.check(v4, 'ipv4');
  }
  const family = net.isIP(address);
  if (family === 0) return true; // not an address at all: never connect to it
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface AddressPolicy {
  allowPrivate: boolean;
  requireHttps: boolean;
}

/** Why a webhook URL is refused as written (before any DNS), or null. */
export function urlProblem(raw: string, policy: AddressPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (policy.requireHttps && url.protocol !== 'https:') return 'must be https in production';
  if (url.username || url.password) return 'must not carry a user name or password';
  return null;
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Resolves the URL's host and refuses it when any address it resolves to is private; null when fine. */
export async function resolvedProblem(url: URL, policy: AddressPolicy): Promise<string | null> {
  if (policy.allowPrivate) return null;
  const host = hostOf(url);
  try {
    const addresses = net.isIP(host) ? [{ address: host }] : await dns.promises.lookup(host, { all: true, verbatim: true });
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    return bad ? `resolves to ${bad.address}, an address of the server's own network` : null;
  } catch {
    return `host ${host} does not resolve`;
  }
}

/**
 * A lookup for http(s).request that refuses private addresses: the connection goes to the very address that
 * was checked, so a DNS answer changing between the check and the connect cannot reach the inside.
 */
function checkedLookup(policy: AddressPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const bad = policy.allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (bad || !addresses.length) {
        const refused = Object.assign(new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, refused`), { code: 'EPRIVATE' });
        return callback(refused, '', 0);
      }
      const chosen = addresses[0];
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, [chosen]);
      else callback(null, chosen.address, chosen.family);
    });
  };
}

export interface PostResult {
  status: number | null;
  durationMs: number;
  error: string | null;
}

/** POSTs a body to a webhook URL, never following redirects; any non-2xx answer or transport error is a failure. */
export async function postWebhook(
  raw: string,
  headers: Record<string, string>,
  body: string,
  opts: AddressPolicy & { timeoutMs: number },
): Promise<PostResult> {
  const started = performance.now();
  const done = (status: number | null, error: string | null): PostResult => ({
    status,
    error,
    durationMs: Math.round(performance.now() - started),
  });
  const problem = urlProblem(raw, opts);
  if (problem) return done(null, `url ${problem}`);
  const url = new URL(raw);
  const host = hostOf(url);
  if (net.isIP(host) && !opts.allowPrivate && isPrivateAddress(host))
    return done(null, `${host} is an address of the server's own network, refused`);
  return new Promise<PostResult>((finish) => {
    const resolve = (r: PostResult) => {
      clearTimeout(timer);
      finish(r);
    };
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: checkedLookup(opts),
      },
      (res) => {
        res.resume(); // the answer's body is not kept
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve(done(status, status >= 200 && status < 300 ? null : `HTTP ${status}`));
        });
        res.on('error', (err) => resolve(done(status(res), err.message)));
      },
    );
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    request.on('error', (err) => resolve(done(null, err.message)));
    request.end(body);
  });
}

const status = (res: http.IncomingMessage) => res.statusCode ?? null;
