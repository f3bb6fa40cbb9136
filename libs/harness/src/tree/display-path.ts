const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A relative path (raw bytes) as readable text: UTF-8 as is, anything else (invalid UTF-8, control
 * characters, backslashes) escaped as \xNN so every distinct path prints distinctly.
 */
export function displayPath(raw: Buffer): string {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return Array.from(raw, (byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
  }
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || code === 0x7f || char === '\\' ? `\\x${code.toString(16).padStart(2, '0')}` : char;
  }
  return out;
}

export function joinRaw(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, Buffer.from('/'), name]);
}
