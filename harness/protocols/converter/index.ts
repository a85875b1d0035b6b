/** The interface converter's declaration (it speaks CJ/T 188, DL/T 645 and MLGW; no codec of its own). */
export * from './declaration.ts';
