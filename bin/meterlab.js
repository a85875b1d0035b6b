#!/usr/bin/env node
// The `meterlab` command: registers tsx's ESM loader (Node 20 cannot run TypeScript itself),
// then runs the TypeScript entry point.
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/main.ts');
