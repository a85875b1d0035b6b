import { describe, expect, it } from 'vitest';
import { LinkError, ProfileError, TimeoutError, UsageError } from '../core/errors.ts';
import { describeFailure, EXIT, oneLine } from './exit.ts';

describe('describeFailure', () => {
  it('maps typed errors to exit codes with one line each', () => {
    expect(describeFailure(new UsageError('bad --baud'))).toEqual({ code: EXIT.usage, line: 'meterlab: bad --baud' });
    expect(describeFailure(new ProfileError('target profile x.json: meter.address: 12 digits\nmore'))).toMatchObject({ code: EXIT.usage });
    expect(describeFailure(new LinkError('serial port /dev/ttyUSB9 cannot be opened'))).toMatchObject({ code: EXIT.environment });
    expect(describeFailure(new TimeoutError('no reply'))).toMatchObject({ code: EXIT.environment });
  });

  it('reports an unexpected error on one line with the METERLAB_DEBUG hint', () => {
    const saved = process.env.METERLAB_DEBUG;
    delete process.env.METERLAB_DEBUG;
    try {
      expect(describeFailure(new TypeError('x is not a function\n    at foo (bar.ts:1:1)'))).toEqual({
        code: EXIT.internal,
        line: 'meterlab: unexpected error: TypeError: x is not a function at foo (bar.ts:1:1) (set METERLAB_DEBUG=1 to see the stack)',
      });
    } finally {
      if (saved !== undefined) process.env.METERLAB_DEBUG = saved;
    }
  });
});

describe('oneLine', () => {
  it('folds line feeds and escapes every other control character (a CR echoed from a profile key, found by npm run fuzz)', () => {
    expect(oneLine('simulator profile p.json: meter: Unrecognized key: "met\r"\n  more')).toBe('simulator profile p.json: meter: Unrecognized key: "met\\r" more');
    expect(oneLine('a\u0000b\u001bc\u007f')).toBe('a\\u0000b\\u001bc\\u007f');
  });
});
