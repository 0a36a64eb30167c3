// Passkey scoring (Mohtashami & Jaggi 2023, landmark-attention's run_test.py): the first run of digits in the
// answer, compared with the key as an integer (so leading zeros do not matter).

export function scorePasskey(output: string, key: string): number {
  const m = /\d+/.exec(output);
  if (m === null) return 0;
  const strip = (s: string) => s.replace(/^0+(?=\d)/, '');
  return strip(m[0]) === strip(key) ? 1 : 0;
}
