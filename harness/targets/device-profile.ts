/**
 * Target profiles of any protocol. `loadTargetProfile` (profile.ts) returns the DL/T 645 profile
 * every DL/T 645 suite reads (`meter`, simulator, permissions); `loadDeviceTargetProfile` returns
 * a profile of whichever registered protocol `device.protocol` names (protocols.ts): for DL/T 645
 * the same TargetProfile, for another protocol its declaration validated by the protocol's schema.
 *
 *   { "name": "water-1", "device": { "kind": "water-meter", "protocol": "cjt188",
 *                                    "declaration": { ...the protocol's declaration... } },
 *     "connection": { "type": "serial", "path": "/dev/ttyUSB0" } }
 *
 * Every problem is one ProfileError naming the file and the field path (`device.declaration.address`).
 */
import path from 'node:path';
import { ProfileError } from '../core/errors.ts';
import { sameLine, formatLine } from '../links/link.ts';
import { formatIssuePath } from '../../simulators/device/profile-loading.ts';
import {
  DEFAULT_PROTOCOL,
  REFERENCE_TARGET_SPEC,
  TargetProfileSchema,
  parseTargetProfile,
  readTargetProfileJson,
  referenceTargetProfile,
  type DeviceTargetProfile,
  type ParseTargetProfileOptions,
} from './profile.ts';
import { targetProtocol, targetProtocolIds, type TargetMasterBase, type TargetProtocol } from './protocols.ts';
import './protocol-entries.ts';

/** Loads a target profile of any registered protocol: 'reference' (the DL/T 645 reference target) or a JSON file. */
export function loadDeviceTargetProfile(spec: string): DeviceTargetProfile {
  if (spec === REFERENCE_TARGET_SPEC) return referenceTargetProfile();
  return parseDeviceTargetProfile(readTargetProfileJson(spec), { source: spec, baseDir: path.dirname(path.resolve(spec)) });
}

/** Validates a parsed profile document of any registered protocol. */
export function parseDeviceTargetProfile(json: unknown, options: ParseTargetProfileOptions = {}): DeviceTargetProfile {
  const source = options.source ?? 'target profile';
  const label = source === REFERENCE_TARGET_SPEC || source === 'target profile' ? source : `target profile ${source}`;
  const r = TargetProfileSchema.safeParse(json);
  if (!r.success || (r.data.device?.protocol ?? DEFAULT_PROTOCOL) === DEFAULT_PROTOCOL) return parseTargetProfile(json, options);
  const doc = r.data;
  const device = doc.device!;
  const entry = targetProtocol(device.protocol);
  if (!entry) {
    throw new ProfileError(`${label}: device.protocol: no protocol "${device.protocol}" is registered (known: ${targetProtocolIds().join(', ')})`);
  }
  if (!entry.kinds.includes(device.kind)) {
    throw new ProfileError(`${label}: device.kind: ${entry.title} reads ${entry.kinds.join(', ')}, not a ${device.kind}`);
  }
  // A kind with its own declaration (protocols.ts kindDeclarations), else the protocol's.
  const d = (entry.kindDeclarations?.[device.kind] ?? entry.declaration).safeParse(device.declaration);
  if (!d.success) {
    const lines = d.error.issues.map((i) => `${formatIssuePath(['device', 'declaration', ...i.path])}: ${i.message}`);
    throw new ProfileError(`${label}: ${lines.join('; ')}`);
  }
  const declaration = d.data;
  // DL/T 645 only: the electricity meter's permissions and the switching system.
  for (const field of ['allowDestructive', 'system'] as const) {
    if ((json as Record<string, unknown>)[field] !== undefined) {
      throw new ProfileError(`${label}: ${field}: applies to DL/T 645 targets only (this profile's device.protocol is "${device.protocol}")`);
    }
  }
  const c = doc.connection;
  // Only a DL/T 645 station-api profile goes without a connection (its `system` is refused above).
  if (c === undefined) throw new ProfileError(`${label}: connection: say how to reach the device`);
  let connection: DeviceTargetProfile['connection'];
  switch (c.type) {
    case 'reference': {
      for (const field of ['simulator', 'clockOffsetMs'] as const) {
        if (c[field] !== undefined) throw new ProfileError(`${label}: connection.${field}: applies to DL/T 645 reference targets only (the ${entry.title} simulator is built from device.declaration)`);
      }
      if (c.behaviours.length > 0) throw new ProfileError(`${label}: connection.behaviours: applies to DL/T 645 reference targets only`);
      if (c.delivery !== undefined && c.transport !== 'bus') {
        throw new ProfileError(`${label}: connection.delivery: applies to transport "bus" only (this profile's transport is "${c.transport}")`);
      }
      const ownKind = entry.kindDeclarations?.[device.kind] !== undefined;
      if (!entry.createSimulator && !ownKind) throw new ProfileError(`${label}: connection.type: ${entry.title} has no reference simulator yet; use a serial or TCP connection`);
      const defects = parseDefects(ownKind ? { ...entry, defects: entry.kindDefects?.[device.kind] } : entry, c.defects ?? [], label);
      connection = { type: 'reference', transport: c.transport, delivery: c.delivery ?? 'frame', seed: c.seed, ...(defects.length > 0 ? { defects } : {}) };
      break;
    }
    case 'serial': {
      const declared = entry.lineOf(declaration);
      const line = c.line ?? declared;
      if (!sameLine(line, declared)) {
        throw new ProfileError(
          `${label}: connection.line: the port is set to ${formatLine(line)} but the device declares ${formatLine(declared)}; make them equal (or leave connection.line out to use the declared line)`,
        );
      }
      connection = { type: 'serial', path: c.path, line };
      break;
    }
    case 'tcp':
      connection = { type: 'tcp', host: c.host, port: c.port };
      break;
    case 'listen':
      // Only a device that dials in, with what MeterLab puts on its other side (the meters behind a concentrator).
      if (!entry.createCounterpart || entry.kindDeclarations?.[device.kind] !== undefined) {
        throw new ProfileError(`${label}: connection.type: "listen" is for a device that dials MeterLab (a concentrator's uplink); a ${device.kind} read over ${entry.title} is reached over "serial" or "tcp"`);
      }
      connection = { type: 'listen', host: c.host, port: c.port };
      break;
  }
  return {
    name: doc.name,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    connection,
    device: { kind: device.kind, protocol: device.protocol, declaration },
    master: doc.master,
    limits: doc.limits,
    source,
  };
}

/**
 * A reference device's broken variant: each `connection.defects` element validated by the
 * protocol entry's `defects` schema; a protocol without one refuses the field.
 */
function parseDefects(entry: TargetProtocol<unknown, TargetMasterBase>, defects: readonly unknown[], label: string): unknown[] {
  if (defects.length === 0) return [];
  const schema = entry.defects;
  if (!schema) throw new ProfileError(`${label}: connection.defects: the ${entry.title} reference device has no broken variants`);
  return defects.map((d, i) => {
    const r = schema.safeParse(d);
    if (!r.success) {
      const lines = r.error.issues.map((issue) => `${formatIssuePath(['connection', 'defects', i, ...issue.path])}: ${issue.message}`);
      throw new ProfileError(`${label}: ${lines.join('; ')}`);
    }
    return r.data;
  });
}
