/** Targets: the target profile (declaration of the system under test) and the handle suites use. */
export * from './profile.ts';
export * from './target.ts';
export * from './preflight.ts';
export * from './system.ts';
export * from './protocols.ts';
export * from './device-profile.ts';
export { DLT645_TARGET_PROTOCOL } from './dlt645-protocol.ts';
export * from './station-api.ts';
export { Cjt188DefectSchema, cjt188Presence, isCjt188ReferenceBackchannel, type Cjt188Defect, type Cjt188ReferenceBackchannel } from './cjt188-protocol.ts';
export { mbusPresence } from './mbus-protocol.ts';
