/**
 * The libmbus corpus (fixtures/libmbus, a copy of shared/corpus/mbus-libmbus kept with its licence,
 * BSD 3-Clause: LICENSE.libmbus, COPYING.libmbus):
 * - 76 good frames: header and every record (function, storage number, tariff, subunit, unit,
 *   quantity, value) equal to the expected `.norm.xml`, rendered the way libmbus prints them
 *   (corpus-support.ts); each libmbus quirk counted; the one expected record that is itself wrong
 *   is named with its reason and checked against the raw `.xml` instead.
 * - 10 application errors (CI 70): reported as application errors with the expected code.
 * - 10 malformed frames: rejected with a code and an offset (pinned here).
 * - 7 "unsupported" frames: each outcome pinned.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHex } from '../../core/bytes.ts';
import { decodeApplication, type MbusApplication } from './application.ts';
import {
  corpusDirectory,
  libmbusId,
  LIBMBUS_FIXED_MEDIUM,
  LIBMBUS_MEDIUM,
  readExpected,
  renderFixedCounterLikeLibmbus,
  renderHeaderLikeLibmbus,
  renderLikeLibmbus,
  type ExpectedRecord,
  type Quirk,
} from './corpus-support.ts';
import { decodeSingleFrame } from './frame.ts';
import { decodeMbusHex } from './json.ts';

const dir = corpusDirectory();

function decodeFile(path: string): { app: MbusApplication | null; error: { code: string; offset: number } | null } {
  const bytes = parseHex(readFileSync(path, 'utf8'));
  if (!bytes.ok) return { app: null, error: bytes.error };
  const frame = decodeSingleFrame(bytes.value);
  if (!frame.ok) return { app: null, error: frame.error };
  const f = frame.value.frame;
  if (f.type !== 'long' && f.type !== 'control') return { app: null, error: { code: `not a long frame: ${f.type}`, offset: 0 } };
  const app = decodeApplication(f, frame.value.start);
  return app.ok ? { app: app.value, error: null } : { app: null, error: app.error };
}

/**
 * Expected records that are themselves wrong, with the reason; each is compared with the same
 * record of the raw `.xml` instead (which holds the decoded value).
 */
const EXPECTED_WRONG: Readonly<Record<string, { readonly record: number; readonly reason: string }>> = {
  sen_pollutherm: {
    record: 2,
    reason:
      'record 2 (DIF 0C, VIF 7B without a VIFE: no FB table code follows) is an EMPTY <DataRecord/> in the .norm.xml: ' +
      "libmbus's normaliser fails on the bare 7B and prints nothing; the raw .xml has it (Unknown (VIF=0x7B), 302)",
  },
};

describe('libmbus corpus (fixtures/libmbus)', () => {
  it('is present, with its licence next to it', () => {
    expect(dir, 'harness/protocols/mbus/fixtures/libmbus is missing').not.toBeNull();
    for (const f of ['LICENSE.libmbus', 'COPYING.libmbus']) expect(existsSync(resolve(dir!, f)), f).toBe(true);
  });
  const root = dir ?? '';
  const good = resolve(root, 'test-frames');
  const errors = resolve(root, 'error-frames');
  const unsupported = resolve(root, 'unsupported-frames');

  it('all 76 good frames decode to the header and records of their expected .norm.xml', () => {
    const names = readdirSync(good).filter((f) => f.endsWith('.hex')).map((f) => f.slice(0, -4)).sort();
    const mismatches: string[] = [];
    const quirks = new Map<Quirk, number>();
    let framesMatched = 0;
    let recordsCompared = 0;
    let recordsMatched = 0;
    let headersChecked = 0;
    for (const name of names) {
      const before = mismatches.length;
      const { app, error } = decodeFile(resolve(good, `${name}.hex`));
      if (app === null) {
        mismatches.push(`${name}: rejected ${error?.code} at ${error?.offset}`);
        continue;
      }
      const expected = readExpected(resolve(good, `${name}.norm.xml`));
      const compare = (what: string, e: Readonly<Record<string, string>>, got: Readonly<Record<string, string>>): boolean => {
        const keys = new Set([...Object.keys(e), ...Object.keys(got)]);
        let same = true;
        for (const k of keys) {
          if (e[k] !== got[k]) {
            mismatches.push(`${name} ${what} ${k}: expected ${JSON.stringify(e[k])}, decoded ${JSON.stringify(got[k])}`);
            same = false;
          }
        }
        return same;
      };
      if (app.kind === 'fixedData') {
        // Legacy fixed data: libmbus prints it without normalisation (raw value and unit text).
        expect(libmbusId(app.id), name).toBe(expected.slave.Id);
        expect(app.medium, `${name} medium`).toBe(LIBMBUS_FIXED_MEDIUM[expected.slave.Medium!]);
        expect(String(app.accessNumber)).toBe(expected.slave.AccessNumber);
        expect(app.status.toString(16).toUpperCase().padStart(2, '0')).toBe(expected.slave.Status);
        headersChecked++;
        expect(expected.records.length, name).toBe(2);
        for (const i of [0, 1] as const) {
          recordsCompared++;
          if (compare(`counter ${i}`, expected.records[i]!.fields, renderFixedCounterLikeLibmbus(app, i))) recordsMatched++;
        }
      } else if (app.kind === 'variableData') {
        const { Medium: medium, ProductName: _product, ...slave } = expected.slave;
        // ProductName comes from libmbus's lookup table, not from the frame (corpus README).
        compare('header', slave, renderHeaderLikeLibmbus(app));
        if (app.header?.type === 'long') expect(app.header.medium, `${name} medium ${medium}`).toBe(LIBMBUS_MEDIUM[medium!]);
        headersChecked++;
        if (expected.records.length !== app.records.length) mismatches.push(`${name}: ${expected.records.length} expected records, ${app.records.length} decoded`);
        const wrong = EXPECTED_WRONG[name];
        const raw = wrong ? readExpected(resolve(good, `${name}.xml`)) : null;
        app.records.forEach((r, i) => {
          let e: ExpectedRecord | undefined = expected.records[i];
          if (!e) return;
          recordsCompared++;
          if (wrong?.record === i) {
            expect(Object.keys(e.fields), `${name} record ${i} is empty in the .norm.xml`).toEqual([]);
            e = raw!.records[i]!;
            // The raw .xml prints the unscaled value and libmbus's "Unknown (VIF=0x..)" unit text.
            const rendered = renderLikeLibmbus(r).fields;
            const got: Record<string, string> =
              r.kind === 'data' && r.vib.kind === 'unknown'
                ? { Function: rendered.Function!, StorageNumber: rendered.StorageNumber!, Unit: `Unknown (VIF=0x${r.vib.vif.toString(16).toUpperCase()})`, Value: String(r.value.type === 'bcd' ? r.value.value : '') }
                : {};
            if (compare(`record ${i} (raw .xml)`, e.fields, got)) recordsMatched++;
            return;
          }
          const rendered = renderLikeLibmbus(r, e);
          for (const q of rendered.quirks) quirks.set(q, (quirks.get(q) ?? 0) + 1);
          if (compare(`record ${i}`, e.fields, rendered.fields)) recordsMatched++;
        });
      } else {
        mismatches.push(`${name}: decoded as ${app.kind}`);
      }
      if (mismatches.length === before) framesMatched++;
    }
    expect(mismatches).toEqual([]);
    expect({ frames: names.length, framesMatched, headersChecked, recordsCompared, recordsMatched }).toEqual({
      frames: 76,
      framesMatched: 76,
      headersChecked: 76,
      recordsCompared: 942,
      recordsMatched: 942,
    });
    // Every libmbus quirk the rendering reproduced, and how often (README.md "Corpus").
    expect(Object.fromEntries([...quirks].sort())).toEqual({
      'bcd-non-decimal-nibbles': 4,
      'hca-unit-text': 6,
      'invalid-time-zeros': 1,
      'lvar-binary-reversed': 1,
      'plain-text-unit-dash': 22,
    });
  });

  it('the 10 application-error frames are reported as application errors with their code', () => {
    // libmbus's texts -> the CI 70 code (MBUS.md 5).
    const codeOf: Record<string, number> = {
      'Unspecified error': 0x00,
      'Unimplemented CI-Field': 0x01,
      'Buffer too long, truncated': 0x02,
      'Too many records': 0x03,
      'Premature end of record': 0x04,
      'More than 10 DIFE´s': 0x05,
      'More than 10 VIFE´s': 0x06,
      'Application busy': 0x08,
      'Too many readouts': 0x09,
    };
    const names = readdirSync(errors).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
    expect(names).toHaveLength(10);
    for (const name of names) {
      const text = /<Error>(.*)<\/Error>/.exec(readFileSync(resolve(errors, `${name}.xml`), 'utf8'))![1]!;
      const { app } = decodeFile(resolve(errors, `${name}.hex`));
      expect(app?.kind, name).toBe('applicationError');
      if (app?.kind !== 'applicationError') continue;
      // error.hex carries no code byte at all: libmbus calls it unspecified, we report code null ([BK]).
      expect(app.code ?? 0x00, name).toBe(codeOf[text]);
      if (name === 'error') expect(app.code).toBeNull();
    }
  });

  it('the 10 malformed frames are rejected with a code and the offset of the fault', () => {
    const expected: Record<string, { code: string; offset: number }> = {
      premature_end_of_data1: { code: 'mbus.data-truncated', offset: 32 }, // VIF 04 (BCD6) then the frame's CS
      premature_end_of_data2: { code: 'mbus.data-truncated', offset: 34 }, // 2 of 3 data bytes
      premature_end_of_dif1: { code: 'mbus.dif-truncated', offset: 30 }, // DIF 8B announces a DIFE, CS follows
      premature_end_of_dif2: { code: 'mbus.dif-truncated', offset: 31 }, // DIFE 8B announces another
      premature_end_of_var_vif1: { code: 'mbus.vif-truncated', offset: 50 }, // plain-text VIF of 19 characters, 6 left
      premature_end_of_vif1: { code: 'mbus.vif-truncated', offset: 31 }, // DIFE 60, no VIF
      too_long_var_vif: { code: 'mbus.plain-vif-length', offset: 43 }, // plain-text length F3 = 243
      too_many_dife: { code: 'mbus.dife-limit', offset: 40 }, // the 11th DIFE
      too_many_vife: { code: 'mbus.vife-limit', offset: 42 }, // the 11th VIFE
      too_short_header: { code: 'mbus.header-truncated', offset: 12 }, // 5 of the 12 header bytes
    };
    const names = readdirSync(errors).filter((f) => f.endsWith('.hex') && !readdirSync(errors).includes(f.replace(/\.hex$/, '.xml'))).map((f) => f.slice(0, -4)).sort();
    expect(names).toEqual(Object.keys(expected).sort());
    for (const name of names) {
      const { app, error } = decodeFile(resolve(errors, `${name}.hex`));
      expect(app, name).toBeNull();
      expect({ code: error?.code, offset: error?.offset }, name).toEqual(expected[name]);
      // And through decodeMbusHex: the same error, never a throw.
      const line = decodeMbusHex(readFileSync(resolve(errors, `${name}.hex`), 'utf8'));
      expect(line.ok).toBe(false);
      expect((line.json as { error: { code: string } }).error.code).toBe(expected[name]!.code);
    }
  });

  it('the 7 unsupported frames: each outcome pinned', () => {
    const outcome = (name: string): string => {
      const { app, error } = decodeFile(resolve(unsupported, `${name}.hex`));
      if (error) return `${error.code}@${error.offset}`;
      if (app?.kind === 'dataSend' || app?.kind === 'variableData') {
        return `${app.kind}:${app.records.map((r) => (r.kind === 'data' ? `${r.vib.entry?.quantity}=${r.value.type === 'integer' || r.value.type === 'bcd' ? String(r.value.value) : r.value.type}` : r.kind)).join(',')}`;
      }
      return app?.kind ?? 'none';
    };
    expect(Object.fromEntries(readdirSync(unsupported).filter((f) => f.endsWith('.hex')).sort().map((f) => [f, outcome(f.slice(0, -4))]))).toEqual({
      'invalid_length.hex': 'mbus.length@1', // L = 0
      'invalid_length2.hex': 'mbus.fixed-length@22', // CI 73 with 15 of the 16 fixed-data bytes
      'manual_frame1.hex': 'hex.split-byte@1', // the file itself is broken: "D 04 04 68 ..." (one hex digit)
      'manual_frame4.hex': 'dataSend:Bus address=8', // SND_UD to FE, CI 51: set primary address 8
      'manual_frame5.hex': 'dataSend:Enhanced identification=288582374508331780', // CI 51, DIF 07 VIF 79: 64-bit 0401402401020304H
      'manual_frame6.hex': 'dataSend:Enhanced identification=12345678,Energy=107', // CI 51: ID 12345678 (BCD8, VIF 79), energy 107 kWh (BCD8, VIF 06)
      'svm_f22_telegram2.hex': 'variableData:manufacturer', // header then 1F: all manufacturer data, more records follow
    });
  });
});
