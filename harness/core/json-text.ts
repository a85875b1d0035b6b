/**
 * JSON.parse with an error that says where: Node 20's messages only sometimes carry a position
 * ("Unexpected token '}', ... is not valid JSON" does not), so on failure a small strict scanner
 * finds the offset of the first offending character and reports line and column (1-based).
 */
import { escapeControlCharacters } from './text.ts';

export interface JsonSyntaxProblem {
  readonly message: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; problem: JsonSyntaxProblem };

export function parseJsonText(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const native = e instanceof Error ? e.message : String(e);
    const offset = findSyntaxErrorOffset(text) ?? positionIn(native) ?? text.length;
    const { line, column } = lineColumn(text, offset);
    // Drop the snippet V8 quotes back ('"{ ... }" is not valid JSON'): the line and column say where.
    // A control character V8 names as the offending token ("Unexpected token '\n'") is escaped, so
    // the reason stays one line (CLI errors are one line).
    const reason = escapeControlCharacters(native.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, ''));
    return { ok: false, problem: { message: reason, offset, line, column } };
  }
}

function positionIn(message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return { line, column };
}

/**
 * Offset of the first character that makes `text` invalid JSON, or undefined if it is valid.
 * Iterative, with an explicit stack of open containers: a text nested 20,000 deep (found by
 * fuzzing) must not overflow the call stack.
 */
export function findSyntaxErrorOffset(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  class Stop {
    constructor(readonly at: number) {}
  }
  const fail = (at: number): never => {
    throw new Stop(at);
  };
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) fail(i + k);
    i += word.length;
  };
  const string = (): void => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail(i + 2);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(i + 1);
        continue;
      }
      i++;
    }
    fail(n);
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const number = (): void => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail(i);
    i += m![0].length;
  };
  /** After "{" or ",": a member name and its colon. */
  const memberName = (): void => {
    ws();
    if (text[i] !== '"') fail(i);
    string();
    ws();
    if (text[i] !== ':') fail(i);
    i++;
  };
  /** Open containers, innermost last. */
  const open: ('{' | '[')[] = [];
  const document = (): void => {
    for (;;) {
      // A value starts here.
      ws();
      const c = text[i];
      if (c === '{' || c === '[') {
        i++;
        ws();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++; // empty container: a complete value
        } else {
          open.push(c);
          if (c === '{') memberName();
          continue;
        }
      } else if (c === '"') string();
      else if (c === 't') literal('true');
      else if (c === 'f') literal('false');
      else if (c === 'n') literal('null');
      else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
      else fail(i);
      // A value ended: close containers until one expects another element.
      for (;;) {
        const top = open[open.length - 1];
        if (top === undefined) return;
        ws();
        if (text[i] === ',') {
          i++;
          if (top === '{') memberName();
          break;
        }
        if (text[i] === (top === '{' ? '}' : ']')) {
          i++;
          open.pop();
          continue;
        }
        fail(i);
      }
    }
  };
  try {
    document();
    ws();
    if (i < n) fail(i);
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return e.at;
    throw e;
  }
}
