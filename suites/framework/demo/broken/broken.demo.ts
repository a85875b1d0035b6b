/** Demo suite that cannot load: its case names a requirement missing from the catalog (see ../README.md). */
import { defineConformanceSuite } from '../../vitest.ts';

defineConformanceSuite(
  'broken',
  [{ id: 'broken.unknown-requirement', requirement: 'NOPE-99', title: 'names an unknown requirement', run: async () => undefined }],
  async () => ({ close: async () => undefined }),
);
