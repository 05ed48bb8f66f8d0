/**
 * @module plugins/threat-protection/percent-decode
 * Percent-decoding of a path, a query argument or a header before patterns see it: once
 * (a value encoded twice is left encoded once, which the `traversal-encoded` rule looks
 * for), at most `maxLength` characters of it, and leniently: a malformed escape or byte
 * sequence is kept as it is rather than hiding the rest of the value.
 */

/** `text` cut at `maxLength` and percent-decoded once; `plus` also reads `+` as a space. */
export function percentDecode(text: string, maxLength: number, plus = false): string {
  const cut = text.length > maxLength ? text.slice(0, maxLength) : text;
  const spaced = plus && cut.includes("+") ? cut.replaceAll("+", " ") : cut;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return lenientDecode(spaced);
  }
}

/** Decodes each well-formed `%XX`; bytes that are not UTF-8 come out as U+FFFD. */
function lenientDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 37 && i + 2 < text.length && isHex(text, i + 1) && isHex(text, i + 2)) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) bytes.push(code);
    else for (const byte of Buffer.from(text[i]!)) bytes.push(byte);
  }
  return Buffer.from(bytes).toString("utf8");
}

function isHex(text: string, at: number): boolean {
  const code = text.charCodeAt(at) | 0x20;
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 102);
}
