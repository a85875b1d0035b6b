/**
 * Reading a JSON document a user gave by path (a scenario, a profile): one ProfileError line
 * naming what it is and where ("scenario p.json: no such file", "... invalid JSON: ...").
 */
import { readFileSync } from 'node:fs';
import { ProfileError } from './errors.ts';
import { escapeControlCharacters } from './text.ts';

/** The parsed JSON of `path` (a leading BOM is ignored); `what` names it in messages, e.g. "scenario". */
export function readJsonDocument(path: string, what: string): unknown {
  const source = escapeControlCharacters(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ProfileError(`${what} ${source}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ProfileError(`${what} ${source}: invalid JSON: ${(e as Error).message}`);
  }
}
