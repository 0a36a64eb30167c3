// The optional API key: `Authorization: Bearer KEY` (what OpenAI clients send) or HTTP Basic auth with KEY as
// the password (what a browser can send when opening the web page).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function keyChecker(apiKey: string | undefined): (req: IncomingMessage) => boolean {
  if (apiKey === undefined) return () => true;
  // Comparing fixed-length digests in constant time gives away neither the key nor its length.
  const expected = digest(apiKey);
  return (req) => {
    const header = req.headers.authorization ?? '';
    const [scheme, value = ''] = header.split(/\s+/, 2);
    let given: string | undefined;
    if (scheme?.toLowerCase() === 'bearer') given = value;
    else if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      given = decoded.slice(decoded.indexOf(':') + 1);
    }
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}
