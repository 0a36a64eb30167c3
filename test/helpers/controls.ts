// Whether text holds characters a terminal acts on (C0/C1 controls, DEL, bidirectional overrides): file- and
// request-derived text must reach the screen escaped.
export function hasControlChars(s: string, allow = ''): boolean {
  for (const c of s) {
    if (allow.includes(c)) continue;
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if (code === 0x061c || code === 0x200e || code === 0x200f || code === 0x2028 || code === 0x2029)
      return true;
    if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) return true;
  }
  return false;
}
