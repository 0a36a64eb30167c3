// Unicode helpers shared by the tokenizers: the GPT-2 byte<->unicode map (llama.cpp's unicode.cpp
// unicode_byte_to_utf8_map) and the whitespace set that llama.cpp's pre-tokenizers treat as `\s`.

/**
 * llama.cpp's whitespace set (unicode-data.cpp unicode_set_whitespace) as the body of a regex character
 * class. JS `\s` differs from it (JS adds U+FEFF and lacks U+0085), so the pre-tokenizer regexes use this.
 */
export const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** ASCII isspace(), which llama.cpp uses to strip around lstrip/rstrip special tokens. */
export function isAsciiSpace(ch: string): boolean {
  return ch === ' ' || (ch >= '\t' && ch <= '\r');
}

/**
 * GPT-2's reversible byte->printable-char map: printable Latin-1 bytes map to themselves, the other 68
 * bytes to U+0100.. in byte order. Every mapped char is a single UTF-16 unit.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array(256);
  const keep = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
})();

/** Inverse of BYTE_TO_CHAR, indexed by char code (all codes are < 0x144). */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8 = new TextEncoder();

export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** Maps text to GPT-2 byte-level chars: one char per UTF-8 byte. */
export function byteEncode(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}
