/** JSON parsing with line/column errors: moved to harness/core/json-text.ts (simulator profiles use it too). */
export * from '../core/json-text.ts';
