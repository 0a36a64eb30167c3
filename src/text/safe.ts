// Text that came from a file or a request, made safe to show a person: control characters are escaped and the
// length is capped, so a hostile model file cannot clear the screen or set the terminal title (ANSI/OSC escapes),
// reorder what is shown (bidirectional overrides), or copy megabytes into one error line.

// Built from strings: the point of these classes is to match control characters.
const BIDI = '\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
/** C0 and C1 controls, DEL, line/paragraph separators and the bidirectional formatting characters. */
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${BIDI}]`, 'g');
/** The same set without newline and tab, for multi-line messages. */
const UNSAFE_IN_MESSAGE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${BIDI}]`, 'g');
/** Unsafe characters that JSON.stringify leaves as they are (it escapes only U+0000–U+001F). */
const UNSAFE_AFTER_JSON = new RegExp(`[\\u007f-\\u009f${BIDI}]`, 'g');

/** Longest file-derived string shown in a message (UTF-16 code units). */
export const SHOWN_CHARS = 200;
/** Longest message shown at all. */
export const MESSAGE_CHARS = 2000;

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0');

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
}

/** `s` cut to `max` code units (never inside a surrogate pair), saying how long it was. */
export function capLength(s: string, max = SHOWN_CHARS): string {
  if (s.length <= max) return s;
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}… (${s.length} chars in all)`;
}

/** Control and bidirectional characters as visible escapes (\x1b, \u202e); everything else unchanged. */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/**
 * A file-derived string for a message: capped, escaped, in double quotes (`"blk.0\x1b[2J"`). Plain strings
 * read as they did with JSON.stringify.
 */
export function quoted(s: string, max = SHOWN_CHARS): string {
  const capped = capLength(s, max);
  return `"${capped.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeChar)}"`;
}

/** A whole message for a terminal: controls escaped except newline and tab, length capped. */
export function safeMessage(s: string, max = MESSAGE_CHARS): string {
  return capLength(s, max).replace(UNSAFE_IN_MESSAGE, escapeChar);
}

/**
 * JSON text with the characters JSON.stringify leaves raw (C1 controls, DEL, bidi overrides, U+2028/9) escaped
 * as \uXXXX: still the same JSON value, but safe to print to a terminal.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(UNSAFE_AFTER_JSON, (c) => `\\u${hex(c, 4)}`);
}
