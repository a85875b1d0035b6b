/**
 * Delivery of collected readings to the utilities' HTTP endpoints (issue 12 part E; COL-02: the
 * collection system pushes each user's daily frozen data to marketing by 12:00; in 四表合一 the
 * water, gas and heat readings go to their own utilities). The station writes one delivery row
 * per endpoint and reading in the transaction that stores the reading and POSTs batches after
 * commit (collection.ts); this file is the HTTP side: it never retries and starts no timer.
 *
 * POST body (JSON): `{ utility, reference, readings: [{ concentrator, pn, day, kind, value, unit,
 * meterType, readingTime, tariffs }] }`; `reference` names the batch by its first and last
 * reading. A batch sent just before a crash may be sent again: an endpoint keys readings by
 * (concentrator, pn, day).
 */
import { MeterLabError } from '../../harness/core/errors.ts';
import type { MeterKind } from '../concentrator/types.ts';

export interface UtilityEndpoint {
  /** A name for the utility ("water-co"): the key of its delivery rows. 1-32 of A-Z a-z 0-9 - _. */
  readonly utility: string;
  /** Which readings it receives. */
  readonly kinds: readonly MeterKind[];
  /** Where to POST (http: or https:). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  readonly token?: string;
}

export interface DeliveredReading {
  readonly concentrator: string;
  readonly pn: number;
  readonly day: string;
  readonly kind: MeterKind;
  /** Electricity: forward active total in kWh; others: the value in `unit`. */
  readonly value: number;
  /** CJ/T 188 unit byte (2CH m³, 05H kWh); null for electricity. */
  readonly unit: number | null;
  readonly meterType: number | null;
  readonly readingTime: string | null;
  /** Electricity: T1..TM in kWh; null for the others. */
  readonly tariffs: readonly (number | null)[] | null;
}

export interface DeliveryBatch {
  readonly utility: string;
  readonly reference: string;
  readonly readings: readonly DeliveredReading[];
}

export type DeliveryFailure = 'http-status' | 'network' | 'aborted';

/** A batch the endpoint did not take. Its rows stay pending. */
export class ReadingDeliveryError extends MeterLabError {
  constructor(
    readonly failure: DeliveryFailure,
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super('reading-delivery', message, options);
  }
}

const UTILITY_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** Checks an endpoint's configuration; throws TypeError naming the field. */
export function checkEndpoint(e: UtilityEndpoint): void {
  if (!UTILITY_NAME.test(e.utility)) throw new TypeError(`utility endpoint: utility must be 1-32 of A-Z a-z 0-9 - _, got ${JSON.stringify(e.utility)}`);
  let url: URL;
  try {
    url = new URL(e.url);
  } catch {
    throw new TypeError(`utility endpoint ${e.utility}: url ${JSON.stringify(e.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`utility endpoint ${e.utility}: url must be http: or https:, got ${url.protocol}`);
  if (e.kinds.length === 0) throw new TypeError(`utility endpoint ${e.utility}: kinds is empty`);
}

/** POSTs one batch; resolves when the endpoint answered 2xx, else throws ReadingDeliveryError. */
export async function postReadings(endpoint: UtilityEndpoint, batch: DeliveryBatch, fetchFn: typeof fetch, signal?: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (endpoint.token !== undefined) headers.authorization = `Bearer ${endpoint.token}`;
  let response: Response;
  try {
    response = await fetchFn(endpoint.url, { method: 'POST', headers, body: JSON.stringify(batch), signal });
  } catch (error) {
    if (signal?.aborted) throw new ReadingDeliveryError('aborted', `readings ${batch.reference} to ${endpoint.utility}: aborted`, null, { cause: error });
    const why = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new ReadingDeliveryError('network', `readings ${batch.reference} to ${endpoint.utility}: ${endpoint.url} could not be reached: ${why}`, null, { cause: error });
  }
  let text = '';
  try {
    text = await response.text();
  } catch {
    // a body that breaks off does not change what the status says
  }
  if (!response.ok) {
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw new ReadingDeliveryError('http-status', `readings ${batch.reference} to ${endpoint.utility}: HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`, response.status);
  }
}
