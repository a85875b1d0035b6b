/** Text helpers for messages that must stay on one line. */

const ESCAPES: Record<string, string> = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters (C0 and DEL) written as JSON would write them (`\r`, `\u0000`, `\u007f`), so
 * a message that quotes outside text (a profile key, V8's snippet of bad JSON) stays one line and
 * cannot drive the terminal.
 */
export function escapeControlCharacters(text: string, options: { keepLineFeeds?: boolean } = {}): string {
  const pattern = options.keepLineFeeds ? /[\u0000-\u0009\u000b-\u001f\u007f]/g : /[\u0000-\u001f\u007f]/g;
  return text.replace(pattern, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
