// Who may talk to the server from a browser. A web page can send "simple" requests (a text/plain POST) to any
// address without asking, and with DNS rebinding a hostile name can even resolve to 127.0.0.1: so the Host
// header must name this server (an IP address, localhost, or a name allowed with --allowed-host), and a
// request carrying another site's Origin is refused unless --cors allows that origin.
import { isIP } from 'node:net';

export interface OriginPolicy {
  /** Extra host names the Host header may carry ("*": any). */
  allowedHosts?: readonly string[];
  /** Origins allowed to call the API cross-origin ("*": any). */
  cors?: readonly string[];
}

/** The host name of a Host header value (no port, no brackets, lower case), or undefined if malformed. */
export function hostName(host: string): string | undefined {
  try {
    const name = new URL(`http://${host}`).hostname.toLowerCase();
    const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
    return bare.endsWith('.') ? bare.slice(0, -1) : bare;
  } catch {
    return undefined;
  }
}

/**
 * Whether a Host header may reach this server. IP literals always may (a rebinding attack needs a name it
 * controls), as may localhost and its subdomains (browsers pin them to loopback); other names only when
 * allowed. A request without Host (HTTP/1.0) comes from no browser and passes.
 */
export function hostAllowed(host: string | undefined, policy: OriginPolicy): boolean {
  if (host === undefined) return true;
  const name = hostName(host);
  if (name === undefined || name === '') return false;
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  const allowed = policy.allowedHosts ?? [];
  return allowed.includes('*') || allowed.some((a) => a.toLowerCase() === name);
}

export type OriginVerdict = 'none' | 'same' | 'allowed' | 'refused';

/** Same-origin: the page this server served (http://HOST) calling back; else --cors decides. */
export function originVerdict(
  origin: string | undefined,
  host: string | undefined,
  policy: OriginPolicy,
): OriginVerdict {
  if (origin === undefined) return 'none';
  if (host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`) return 'same';
  const cors = policy.cors ?? [];
  return cors.includes('*') || cors.includes(origin) ? 'allowed' : 'refused';
}

/** Headers for a response to an allowed cross-origin request (and its preflight). */
export function corsHeaders(origin: string, preflightHeaders?: string): Record<string, string> {
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    vary: 'Origin',
  };
  if (preflightHeaders !== undefined) {
    headers['access-control-allow-methods'] = 'GET, HEAD, POST, OPTIONS';
    headers['access-control-allow-headers'] = preflightHeaders || 'authorization, content-type';
    headers['access-control-max-age'] = '600';
  }
  return headers;
}
