// The optional API key: `Authorization: Bearer KEY` (what OpenAI clients send) or HTTP Basic auth with KEY as
// the password (what a browser can send when opening the web page).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * RFC 7235 credentials: a scheme, spaces, then one token with no spaces inside. Anything after it is not part
 * of the key: "Bearer KEY junk" must not pass for KEY.
 */
const CREDENTIALS = /^(\S+) +(\S+)$/;

export function keyChecker(apiKey: string | undefined): (req: IncomingMessage) => boolean {
  if (apiKey === undefined) return () => true;
  // Comparing fixed-length digests in constant time gives away neither the key nor its length.
  const expected = digest(apiKey);
  return (req) => {
    const m = CREDENTIALS.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const scheme = m[1].toLowerCase();
    let given: string | undefined;
    if (scheme === 'bearer') given = m[2];
    else if (scheme === 'basic') {
      const decoded = Buffer.from(m[2], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) given = decoded.slice(colon + 1);
    }
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}
