/**
 * Paths are raw bytes; humans and JSON want text. Valid UTF-8 is shown as is; any other byte becomes
 * `\xNN`, so the shown path still identifies the file unambiguously (a literal backslash is doubled
 * only when escapes are present, which keeps ordinary paths untouched).
 */
const decoder = new TextDecoder('utf-8', { fatal: true });

export function displayPath(path: Buffer): string {
  try {
    return decoder.decode(path);
  } catch {
    let out = '';
    let start = 0;
    for (let i = 0; i < path.length; ) {
      const length = utf8SequenceLength(path, i);
      if (length === 0) {
        out += escapeValid(path.subarray(start, i));
        out += `\\x${path[i]!.toString(16).padStart(2, '0')}`;
        i += 1;
        start = i;
      } else {
        i += length;
      }
    }
    return out + escapeValid(path.subarray(start));
  }
}

function escapeValid(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\\/g, '\\\\');
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const first = bytes[i]!;
  if (first < 0x80) return 1;
  let length: number;
  let min: number;
  if (first >= 0xc2 && first <= 0xdf) [length, min] = [2, 0x80];
  else if (first >= 0xe0 && first <= 0xef) [length, min] = [3, 0x800];
  else if (first >= 0xf0 && first <= 0xf4) [length, min] = [4, 0x10000];
  else return 0;
  if (i + length > bytes.length) return 0;
  let codePoint = first & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) {
    const next = bytes[i + k]!;
    if ((next & 0xc0) !== 0x80) return 0;
    codePoint = (codePoint << 6) | (next & 0x3f);
  }
  if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return 0;
  return length;
}
