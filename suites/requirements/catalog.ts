/**
 * The requirement catalog: every conformance case names one of these ids.
 *
 * Two kinds of entry:
 * - copied from the researched requirements (../shared/requirements/REQUIREMENTS.md), faithfully,
 *   with their sources and confidence (CON-, ROB-, CLK-, FEE-, KP-, GAP-);
 * - DL/T 645-2007 meter-level requirements (DLT645-xx) written from the protocol research notes
 *   (../shared/protocols/PROTOCOLS.md section 1), each naming its section and evidence tags;
 * - per protocol, in their own files: CJ/T 188 (catalog-cjt188.ts: MM- from REQUIREMENTS.md,
 *   CJT188- from PROTOCOLS.md section 2), M-Bus (catalog-mbus.ts: MBUS- from MBUS.md), the
 *   interface converter (catalog-converter.ts: MM- from REQUIREMENTS.md, CONV- MeterLab's own).
 *
 * Confidence (REQUIREMENTS.md): H = normative text, or confirmed by checksum-verified vectors or
 * shipping code; M = one secondary source; L = inferred / background knowledge ([BK]) / default.
 */
import { MeterLabError } from '../../harness/core/errors.ts';
import { COLLECTION_REQUIREMENTS } from './catalog-collection.ts';
import { CONVERTER_REQUIREMENTS } from './catalog-converter.ts';
import { MBUS_REQUIREMENTS } from './catalog-mbus.ts';
import { CJT188_REQUIREMENTS } from './catalog-cjt188.ts';

export type Confidence = 'H' | 'M' | 'L';

export interface Requirement {
  /** "CON-05", "DLT645-02". */
  readonly id: string;
  /** Short name, as in the bold heading of the source entry. */
  readonly title: string;
  readonly statement: string;
  /** The number a verdict is judged against, when there is one. */
  readonly threshold?: string;
  readonly source: string;
  readonly confidence: Confidence;
  readonly notes?: string;
  /**
   * Where the entry was taken from: the shared research (REQUIREMENTS.md, PROTOCOLS.md, MBUS.md),
   * or 'MeterLab' for a rule of MeterLab's own where no public source gives one (confidence L).
   */
  readonly origin: 'REQUIREMENTS.md' | 'PROTOCOLS.md' | 'MBUS.md' | 'MeterLab';
}

/** NUC97X in the sources below is this concentrator firmware (REQUIREMENTS.md "Source notes"). */
export const NUC97X = 'NUC97X = gdgly/NUC97X_JS @ b8a5193 (Jiangsu concentrator firmware, GBK-encoded)';

/** A three-phase smart-meter firmware's DL/T 645-2007 slave (public code, read for facts only; cited by DLT645-21/24/27). */
const CAOKX = 'caokx/3jiliang:App/Dl645B_Com.c';

const R = (r: Requirement): Requirement => r;

export const REQUIREMENTS: readonly Requirement[] = [
  // ---- from REQUIREMENTS.md ----------------------------------------------------------------
  R({
    id: 'CON-05',
    title: 'RS-485 meter read timing',
    statement:
      'DL/T 645 read timeout 3000 ms, and 3 attempts in total (resend while the retry count is below 2). Each request starts with 4 × 0xFE wake-up bytes.',
    threshold: 'timeout 3000 ms; 3 attempts; 4 × FE preamble',
    source:
      'NUC97X `STM32F4xx/Head/Project2xx_USER0xx.h:594` (ReadDL645OverTimer 3000); `STM32F4xx/Terminal698/Terminal_ReadMeter_DL645_2007.c:125-134`; `STM32F4xx/Terminal/Terminal_ReadMeter_DL645_2007_FnData.c:28`',
    confidence: 'H',
    notes: NUC97X,
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'CON-06',
    title: 'RS-485 framing',
    statement:
      'Default is 2400 bps, 8 data bits, 1 stop bit. DL/T 645-2007 and CJ/T 188 specify even parity (8E1). One integrator page lists "no parity (not mandatory)", so the harness must make parity configurable and default to 8E1.',
    threshold: '2400 8E1 default; parity configurable',
    source: 'http://www.ww0661.com/hangyebk/202306/42542.html ; parity from standard knowledge, not re-verified (GAP-10)',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'ROB-01',
    title: 'Line noise and corrupted frames',
    statement:
      'Inject bit flips, bad CS and truncated frames. Pass: the frame is discarded, retried up to 3 attempts (CON-05), and recorded as a failure, never stored as data.',
    threshold: 'up to 3 attempts',
    source: 'CON-05 sources',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'ROB-02',
    title: 'Variable preamble',
    statement: 'Send 0–4 leading 0xFE bytes, plus garbage before 0x68. Pass: the DUT parses from the first valid 0x68 (NUC97X strips 0xFE).',
    threshold: '0–4 leading FE bytes',
    source: 'NUC97X `STM32F4xx/Terminal/Terminal_Uart_AFN10_Forwarding.c:117,247-250,342-343,407-410` (counts and strips leading 0xFE)',
    confidence: 'H',
    notes: NUC97X,
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'ROB-03',
    title: 'Wrong or foreign address in a reply',
    statement:
      'Pass: a reply whose meter address or DI differs from the request is rejected. NUC97X compares the transmitted and received address, control code and DI. It returns 1 = address error, 2 = control code / slave exception, 3 = DI error, and skips the address check for 999999999999.',
    source: 'NUC97X `STM32F4xx/Terminal/Terminal_ReadMeter_DL645.c:371-445` (`DL645_1997_RxData` and the 2007 equivalent)',
    confidence: 'H',
    notes: NUC97X,
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'CLK-01',
    title: 'Layered time sync',
    statement:
      "The master syncs terminals, and the concentrator syncs collectors and meters. After sync, terminal error must be ≤5 s and meter error ≤10 s. Daily timing error of terminals and meters must be ≤0.5 s/d. The master's clock comes from Beidou, GPS or NTP.",
    threshold: 'after sync: terminal ≤ 5 s, meter ≤ 10 s; drift ≤ 0.5 s/d',
    source: 'http://m.fqyyjx.com/newsdetail/57.html (vendor FAQ, 2019, copied across several sites)',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-02',
    title: 'Alarm levels',
    statement:
      'Alarm amount 1 ≥ alarm amount 2. Balance ≤ alarm 1 → sound or light alarm. Balance ≤ alarm 2 → trip (local meter); inserting a card or holding a key for 3 s restores supply. Balance ≤ 0 with a non-zero overdraft threshold → key hold restores supply. Overdraft ≤ threshold → trip that cannot be released until top-up. Reject a configuration where alarm 1 < alarm 2.',
    threshold: 'trip at balance ≤ alarm 2; no release by key once the overdraft is exhausted',
    source: 'http://zone.zj.cn/Announcement/Cost-control-table-related-knowledge.html ; http://xdsedu.cn/DetailJs.php?tid=552',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-03',
    title: 'Top-up clears overdraft first',
    statement: 'On a valid top-up the overdraft is deducted first. Closing the relay is allowed only when the remaining balance is >0.',
    threshold: 'close allowed only with remaining balance > 0',
    source: 'zone.zj.cn (FEE-02); http://www.yxsaving.com/xinwenzhongxin/gongsixinwen/228.html',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-06',
    title: '645 remote-control command codes',
    statement:
      'N1 = 1AH trip, 1BH allow-close (合闸允许), 2AH alarm, 2BH alarm release, 3AH 保电 (keep power), 3BH 保电 release. N2 is reserved. N3–N8 = command validity deadline YYMMDDhhmmss. The master produces the ciphertext through the encryption machine (加密机). An error reply sets SERR bit2 = "password error / unauthorised". Tests: an expired deadline is rejected; a bad MAC gives SERR bit2.',
    threshold: 'expired deadline rejected; bad MAC → SERR bit2',
    source: 'https://tztz283805a2.zhaoshang100.com/html/zx/15893982.html ; http://m.cpooo.com/shop/company/121361256597/news/7493308.html',
    confidence: 'M',
    notes: 'The direct-close code (1CH) of the 2013 revision was not confirmed by any retrieved source (L).',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-07',
    title: 'Trip execution and records',
    statement:
      'On a trip command the meter sets status word 3 bit6 (relay command state), shows "拉闸" flashing, and turns the backlight on; it executes after the configured trip delay (跳闸延时, NNNN minutes), then sets status word 3 bit4 (actual relay state); it records the total trip count and the last 10 trips (time, operator code, energy registers).',
    threshold: 'bit6 at once; bit4 after the trip delay; trip count +1',
    source: 'http://m.cpooo.com/shop/company/121361256597/news/7493308.html',
    confidence: 'M',
    notes:
      'MeterLab judges the reported relay state within the trip delay + 5 s: FEE-12 says the actual state is judged after about 3–4 s of consistent sensing, plus one status-word read at 2400 bit/s.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-10',
    title: 'Pre-trip with auto-restore',
    statement: '"Pre-trip 1" re-closes automatically when its timer ends. "Pre-trip 2" goes to allow-close when its timer ends. The default restore time is 300 s when unset.',
    threshold: 'relay open until the restore time; then pre-trip 1 closed, pre-trip 2 close allowed (within 5 s); 300 s when unset',
    source: 'float12/WorkProjectsSVN:schoolMeter/HPLC/program/app/Module/PrePay/GuoWang698/Relay_Remote.c',
    confidence: 'M',
    notes:
      'DL/T 645 codes from one vendor only: the Wisdom 645 1CH handler api_ProcRemoteRelayCommand645 (float12/WorkProjectsSVN, stored file id 10897964161, path not recorded) maps N1 1DH to pre-trip 1 and 1EH to pre-trip 2 and takes the restore time from N2 in units of 5 min (N2 = 0 refused there). MeterLab makes them a declaration (meter.remoteControl.preTrip), not a rule.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-11',
    title: 'Allow-close (合闸允许) semantics',
    statement:
      'In the allow-close state an internal-relay meter closes only after a display key is held 3 s, or on a direct-close command. An external-relay meter maps allow-close to an immediate close.',
    threshold: 'internal relay: no close before the 3 s key hold; external relay: immediate close',
    source: 'float12/WorkProjectsSVN:schoolMeter/HPLC/program/app/Module/PrePay/GuoWang698/Relay_Remote.c (`KeyDown3sTimer`); http://gaojiufeng.cn/?id=2833579',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-13',
    title: 'Daily billing cycle (Qingyuan)',
    statement:
      "Daily automatic fee calculation from the low-voltage collection system's daily frozen data. An SMS is sent when the balance reaches a customer-chosen warning amount. Remote disconnect on arrears. After a mobile top-up, automatic reconnection within 15 min end to end (payment → command → relay closed). Pilot started Nov 2017 in Liannan.",
    threshold: 'reconnection ≤ 15 min from payment to relay closed',
    source: 'http://chinapower.com.cn/dwyxfw/20190621/1278737.html',
    confidence: 'H',
    notes: 'H for the source article.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-14',
    title: 'Disconnect/reconnect success rates',
    statement: 'Remote disconnect success ≥98 %, remote reconnect success ≥99 %, per campaign and per day.',
    threshold: 'disconnect ≥ 98 %; reconnect ≥ 99 %',
    source: "brief's Qingyuan article (the figures were not in the retrieved excerpt)",
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-18',
    title: 'Batch payment-mode change and forced reconnect',
    statement:
      '批量变更付费模式: for every meter in the batch, the harness verifies that the meter mode, the fee-control archive and the alarm thresholds change consistently, with per-meter results and no partial silent failure. 费控强制复电: forced reconnect overrides the balance check and is audited; modelled as direct-close plus an audit record.',
    source: "function names from the brief's article; these semantics are ours",
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'FEE-19',
    title: 'Failed disconnect/reconnect troubleshooting',
    statement:
      'A fault-location flow for failed remote switching must classify failures by layer: master/fee system, concentrator (offline, queue), channel, meter (ESAM/authentication, relay fault, 保电 state). The harness reports a cause code for each failure.',
    source: 'CN109308766B (SGCC Liaoning EPRI) https://patents.google.com/patent/CN109308766B/en',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'KP-06',
    title: 'Master-side protection classes',
    statement:
      'Protected customers (high-risk or important) must never receive a trip, even at zero balance. Classes: master 保电, global 保电, local 保电, holiday 保电. Test: the master never emits a trip for a flagged account, whatever the balance.',
    source: 'http://rdq029.com/news/44.html',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'KP-01',
    title: 'No trip while 保电',
    statement:
      'In the 保电 state the meter executes no trip from any cause until 保电 is released. A trip command is not executed, "拉闸" does not appear on the display, and the reply says "trip failed, meter in 保电".',
    source: 'http://gaojiufeng.cn/?id=2833579 ; Relay_Remote.c (`R_ERR_OFF_PROTECT`)',
    confidence: 'H',
    notes: 'Relay_Remote.c = float12/WorkProjectsSVN:schoolMeter/HPLC/program/app/Module/PrePay/GuoWang698/Relay_Remote.c (FEE-09).',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'KP-02',
    title: 'Release leaves the relay alone',
    statement:
      'Releasing 保电 only clears the 保电 state; it does not change the relay state. Afterwards a remote meter needs a new trip command, while a local meter decides from its balance.',
    source: 'http://gaojiufeng.cn/?id=2833579',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'KP-03',
    title: '保电 while tripped',
    statement:
      'If the meter is already tripped when 保电 arrives: an internal relay goes to allow-close with the trip LED flashing (close by 3 s key hold or direct close); an external relay closes immediately. In 698.45, 8001 method 127 "forbids all trip outputs and restores already-tripped relays".',
    source: `http://gaojiufeng.cn/?id=2833579 ; NUC97X \`…SETInit_6000_Project2xx_USER0xx.c\` (InitData_8001_127)`,
    confidence: 'H',
    notes: NUC97X,
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'KP-04',
    title: '保电 cancels a pending trip',
    statement: '保电 received during the pre-trip delay cancels the trip, and the meter keeps supplying.',
    source: 'http://gaojiufeng.cn/?id=2833579',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'GAP-10',
    title: 'RS-485 parity',
    statement: 'Verify 8E1 against the DL/T 645-2007 and CJ/T 188 texts. Default 8E1, configurable.',
    threshold: 'default 8E1',
    source: 'no public number found; default proposed in REQUIREMENTS.md',
    confidence: 'L',
    origin: 'REQUIREMENTS.md',
  }),

  // ---- DL/T 645-2007 meter level, from PROTOCOLS.md section 1 --------------------------------
  R({
    id: 'DLT645-01',
    title: 'Frame format and checksum',
    statement:
      'Every frame the meter sends is `[FE…] 68 A0..A5 68 C L DATA CS 16`: the address is 12 BCD digits low byte first, each DATA byte is sent +33H, CS is the sum mod 256 of every byte from the first 68 through the last DATA byte (FE bytes excluded), and a reply carries C = request | 80H (normal) or request | C0H (abnormal).',
    threshold: 'exact',
    source: 'PROTOCOLS.md 1.2, 1.3 [vec: ../vectors/dlt645.json; src: 600888/dlt645:python/src/protocol/protocol.py]',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-02',
    title: 'Read data returns the requested identifier',
    statement:
      'A read (11H) of an identifier the meter supports is answered with C = 91H (B1H when follow-up frames exist), the same DI (DI0 first on the wire) and a value whose length and format are those of the data dictionary entry.',
    threshold: 'same DI; value length = dictionary length',
    source: 'PROTOCOLS.md 1.3, 1.9 [vec; src: hupengwu/fox-edge-server-protocol:template/dlt645/1.0.0/DLT645-2007.csv]',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-03',
    title: 'Read address with the wildcard address',
    statement:
      'A read-address request (13H) sent to AAAAAAAAAAAA, with one meter on the bus, is answered with 93H carrying the meter\'s own 12-digit address, both in the address field and in the data.',
    threshold: 'reply address = the meter\'s own address (not the AA wildcard echoed)',
    source: 'PROTOCOLS.md 1.3, 1.4 [vec: 13/93 frames; peer: 600888/dlt645 echoes AA…AA, a non-conformance noted there]',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-04',
    title: 'Broadcast frames are never answered',
    statement: 'A frame sent to the broadcast address 999999999999 (broadcast time sync 08H, freeze 16H) gets no reply of any kind.',
    threshold: 'no reply within the response window (Td max 500 ms, DLT645-08)',
    source: 'PROTOCOLS.md 1.4 [src: 600888/dlt645:python/src/model/types/dlt645_type.py BroadcastAddr]; 1.3 (08H: no reply)',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-05',
    title: 'Unsupported identifier gives "no requested data"',
    statement: 'A read (11H) of an identifier the meter does not support is answered with the abnormal reply D1H whose error word ERR has bit1 "no requested data" set (02H, sent as 35H).',
    threshold: 'C = D1H; ERR bit1 = 1',
    source: 'PROTOCOLS.md 1.7 [vec: `35` = 02H, most common in the field; src: 600888/dlt645 ErrorCode]',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-06',
    title: 'Multi-frame reads with read follow-up',
    statement:
      'When a reply sets D5 (C = B1H, "follow-up frames exist"), the rest of the data is read with 12H carrying the DI and a frame sequence number SEQ; each 92H/B2H reply carries the DI, its part of the data and the SEQ, and the last one has D5 = 0.',
    threshold: 'SEQ echoed; last frame D5 = 0',
    source: 'PROTOCOLS.md 1.3 [vec: 12H request … SEQ = 01]',
    confidence: 'H',
    notes: 'Only the request layout is vector-confirmed; SEQ numbering beyond the first follow-up is [BK].',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-07',
    title: 'Corrupt or foreign frames get no reply',
    statement:
      'A request with a bad checksum, addressed to another meter, or with a truncated body is discarded without any reply, and the meter still answers the next valid request.',
    threshold: 'no reply; next valid request answered',
    source: 'PROTOCOLS.md 1.2 (parsers resync after noise, src: 600888/dlt645:python/test/test_protocol_core.py) + REQUIREMENTS.md ROB-01',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-08',
    title: 'Response delay',
    statement: 'The meter starts its reply 20 ms ≤ Td ≤ 500 ms after the end of the request, with inter-byte gaps Tb ≤ 500 ms.',
    threshold: '20 ms ≤ Td ≤ 500 ms; Tb ≤ 500 ms',
    source: 'PROTOCOLS.md 1.1 [src: zcx1218029121/go645:Protocol_test.go comment block]',
    confidence: 'M',
    notes: 'PROTOCOLS.md: check against the standard text before making these hard pass/fail limits. Over a USB adapter or TCP serial server the measured delay includes the adapter latency.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-09',
    title: 'Broadcast time sync sets the clock',
    statement:
      'A broadcast time sync (08H to 999999999999, data ss mm hh DD MM YY) sets the meter clock: reading date (04000101) and time (04000102) afterwards gives the sent time plus the elapsed time within the meter tolerance of CLK-01. 08H has no reply, normal or abnormal, whatever its address: sent to the meter\'s own address (a non-standard use some meters accept) it gets no reply either, and the meter either sets its clock from it or leaves it running as it was.',
    threshold: '|meter − sent − elapsed| ≤ 10 s (CLK-01); 08H to the own address: no reply, clock set or unchanged within 10 s',
    source: 'PROTOCOLS.md 1.3 (08H: no normal or abnormal reply) [vec], 1.9 (04000101/04000102) [vec]; ../shared/vectors/dlt645.json frame 43 (08H to a unicast address: "non-standard use of 08H, some meters accept"); REQUIREMENTS.md CLK-01 (M)',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-10',
    title: 'Freeze command',
    statement:
      'A freeze command (16H, data mm hh DD MM with 99H = any) is accepted (96H when addressed to the meter, no reply when broadcast) and the frozen data is readable afterwards.',
    source: 'PROTOCOLS.md 1.3 (16H; 600888/dlt645 server implements it; data layout [BK])',
    confidence: 'L',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-11',
    title: 'Write with a wrong password is refused',
    statement: 'A write (14H) with a wrong password is refused with the abnormal reply D4H whose error word has bit2 "password error / unauthorised" set (04H), and the value is not changed.',
    threshold: 'C = D4H; ERR bit2 = 1; value unchanged',
    source: 'PROTOCOLS.md 1.3 (14H layout: unattributed public code), 1.7 (ERR bits: 600888/dlt645 ErrorCode)',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-12',
    title: 'Behaviour matches the declaration',
    statement:
      'What the meter does matches what its profile declares: every identifier declared readable is readable, the declared unsupported identifier is refused, and each declared capability (wildcard read address, wildcard read, follow-up, broadcast time sync, freeze, write) works.',
    threshold: 'no declared item fails',
    source: 'ARCHITECTURE.md "Targets and declarations" (project rule); PROTOCOLS.md 1.9 (identifiers)',
    confidence: 'H',
    notes: 'A project rule rather than a clause of the standard: a declaration is the vendor\'s own claim.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-13',
    title: 'Wake-up preamble',
    statement: 'The meter accepts requests preceded by 0–4 FE wake-up bytes; a reply may start with FE bytes, which the checksum never covers.',
    threshold: '0–4 leading FE bytes',
    source:
      'PROTOCOLS.md 1.1 [src: zcx1218029121/go645:Protocol_test.go; 600888/dlt645:python/test/test_protocol_core.py test_preamble_is_not_included_in_checksum; peer]; REQUIREMENTS.md CON-05, ROB-02',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-14',
    title: 'Recovery from spurious start and end characters',
    statement:
      'After a frame that carries 68H or 16H where the frame format puts no start or end character (a wrong checksum byte 68H or 16H; 68H and 16H in the address and data of a frame for another meter), the meter still answers the next valid request sent after an inter-frame silence: its parser resynchronises instead of waiting for a frame that never completes.',
    threshold: 'next valid request answered (after ≥ 1 s of silence, longer than Tb 500 ms)',
    source:
      'PROTOCOLS.md 1.2 (parsers must resync after noise/corrupt frames and keep partial candidates, src: 600888/dlt645:python/test/test_protocol_core.py), 1.1 (Tb ≤ 500 ms); field finding: a third-party meter went deaf after a wrong checksum byte 68H (MeterLab issue 6)',
    confidence: 'M',
    notes: 'The standard text does not spell out resynchronisation; the threshold is what any master on a shared bus needs from a meter.',
    origin: 'PROTOCOLS.md',
  }),
  // ---- programming and maintenance commands (suites/programming), issue #6 ----------------
  R({
    id: 'DLT645-20',
    title: 'Write data is stored',
    statement:
      'A write (14H: DI + PA P0-P2 + C0-C3 + value) of a writable identifier with a password of the level the meter requires is answered with 94H carrying no data; reading the identifier afterwards (11H) returns the value written, and writing the previous value back restores it.',
    threshold: 'C = 94H, L = 0; read-back = value written; restore read back',
    source: 'PROTOCOLS.md 1.3 (14H layout: unattributed public code templates), 1.9 (identifiers)',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-21',
    title: 'A refused write names why',
    statement:
      'A write (14H) the meter cannot carry out is refused with the abnormal reply D4H, changes nothing, and its error word (that bit alone) says why: an identifier the meter does not have, including one no table of the standard defines → 02H "no requested data" (never silence); a read-only identifier, or one the dictionary marks writable that this meter does not write → 04H "unauthorised" (02H accepted too), whatever the value sent (not 01H for bytes that do not decode: the identifier is not writable at all); a value that does not decode (digits that are not BCD) → 01H "other error"; a value that decodes but the meter must refuse (alarm amount 1 below alarm amount 2, FEE-02) → 01H "other error", never 94H.',
    threshold: 'C = D4H; unknown DI: ERR = 02H; read-only or not-written DI: ERR = 04H or 02H; undecodable or refused value: ERR = 01H; value unchanged',
    source: `PROTOCOLS.md 1.7 (ERR bits: 600888/dlt645 ErrorCode); shipping meter firmware ${CAOKX} fnDl645B_Unpack14 / fnDl645_PutParaVar (02H for identifiers outside DI3 = 04, 01H for an invalid clock value); REQUIREMENTS.md FEE-02 (reject a configuration where alarm 1 < alarm 2, H)`,
    confidence: 'L',
    notes: 'Which bit the standard assigns to each refusal is [BK]: PROTOCOLS.md 1.7 lists the bits, not which refusal sets which. The firmware cited does not tell read-only from unknown identifiers (02H for both), hence 02H accepted next to 04H for read-only and not-written ones; the suite accepts both and says so.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-22',
    title: 'A weaker password level is refused',
    statement:
      'A command that needs a password of level n (PA; 00 is the strongest) is refused with its abnormal reply and error bit2 "password error / unauthorised" when it carries the correct password of a weaker level (a larger PA), and does nothing.',
    threshold: 'abnormal reply; ERR bit2; nothing changed',
    source: 'PROTOCOLS.md 1.3 and 1.5 (PA P0 P1 P2), 1.7 (ERR bit2), 1.9 (04000C01.. password levels 0..)',
    confidence: 'L',
    notes: 'The level each command needs is [BK]; the suite takes it from the declaration (meter.passwordLevels: reference 04 for 14H, 02 for 19H/1AH/1BH).',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-23',
    title: 'Write address',
    statement:
      'A write-address request (15H, the new 6-byte address) sent to AAAAAAAAAAAA with one meter on the bus is answered with 95H; afterwards the meter answers at the new address, reports it (13H, 04000401), and no longer answers at the old one. A 15H sent to the meter\'s own address instead of AAAAAAAAAAAA gets no reply and changes nothing.',
    threshold: 'C = 95H; new address answered; old address silent; 15H to the own address: no reply, address unchanged',
    source: 'PROTOCOLS.md 1.3 (15H row: "new address(6), to AA..AA", no abnormal reply; layout [BK]), 1.4 (AA wildcard)',
    confidence: 'L',
    notes: 'Whether the 95H reply carries the old or the new address is [BK]: both are accepted (never the wildcard itself). That a 15H sent to the meter\'s own address is ignored follows from PROTOCOLS.md 1.3 giving AA..AA as its only address; [BK].',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-24',
    title: 'Baud-rate change',
    statement:
      'A baud-rate change (17H, feature word Z with exactly one of the bits D1..D6: 02H 600, 04H 1200, 08H 2400, 10H 4800, 20H 9600, 40H 19200 bit/s) to a rate the meter supports (its line rate, and each rate it declares) is answered with 97H + Z at the old rate, after which the meter talks at the new rate; a Z that is not one of those bits, or the Z of a rate the meter does not declare, gets D7H with error bit3 "baud rate cannot be changed" and the rate stays.',
    threshold: '97H + the same Z; answers at the new rate after the reply; invalid Z → D7H, ERR bit3; undeclared rate → D7H, ERR = 08H; 17H to the line rate → 97H',
    source: `PROTOCOLS.md 1.6 [src: unattributed public code (2400→08, 4800→10, 9600→20); vec: \`… 17 01 3B 70 16\`], 1.7 (ERR bit3); shipping meter firmware ${CAOKX} fnDl645B_Unpack17 (D7H + 08H for more than one bit set, 97H + Z, the new rate taken after the reply)`,
    confidence: 'M',
    notes: '600888/dlt645 codes 4800/9600/19200 as 16H/32H/64H (BCD of rate/300); PROTOCOLS.md 1.6 records that coding as wrong, and a third-party meter using it refused the standard 20H.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-25',
    title: 'Password change needs the old password',
    statement:
      'A password change (18H: DI 04000C01..0A naming the level + old PA P0-P2 + new PA P0-P2) with a wrong old password is refused with D8H and error bit2, and the old password keeps working; with the right old password it is answered with 98H + the new PA P0-P2, after which the new password works and the old one no longer does. A password is six hex digits: one with the letters A-F works like any other. An 18H whose DI names no password level (04000C0B) is refused with D8H 02H "no requested data".',
    threshold: 'wrong old password: D8H, ERR bit2; right one: 98H + new password; new works, old refused; DI of no level: D8H, ERR = 02H',
    source: 'PROTOCOLS.md 1.3 (18H row, layout [BK]), 1.7 (ERR bit2), 1.9 (04000C0x password levels)',
    confidence: 'L',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-26',
    title: 'Clear commands need the password and clear',
    statement:
      'Maximum-demand clear (19H), meter clear (1AH) and event clear (1BH, with DI FFFFFFFF = every event log) carrying PA P0-P2 + C0-C3 are refused with their abnormal reply and error bit2 when the password is wrong, and clear nothing; with the password of the required level they are answered with 99H / 9AH / 9BH and the cleared registers read zero afterwards (maximum demand, energy, event counts).',
    threshold: 'wrong password: ERR bit2, registers unchanged; right password: 99H/9AH/9BH, registers zero',
    source: 'PROTOCOLS.md 1.3 (19H, 1AH, 1BH rows, layouts [BK]; 600888/dlt645 server treats 1BH DI FFFFFFFF as all), 1.7 (ERR bit2)',
    confidence: 'L',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-27',
    title: 'A malformed data field gets the abnormal reply',
    statement:
      'A request addressed to the meter whose data field is too short for its control code (an 11H with a 3-byte DI, a 14H shorter than DI + password + operator code, a 16H or 17H of the wrong length) is answered with that function\'s abnormal reply carrying error bit0 "other error" (for 11H and 12H bit1 "no requested data" is accepted too); a function that has no abnormal reply (13H) gets no reply. Either way the meter answers the next valid request.',
    threshold: 'abnormal reply of the same function, ERR bit0 (11H/12H: bit0 or bit1); 13H: no reply; next request answered',
    source: `PROTOCOLS.md 1.3 (request data per function; which functions have an abnormal reply), 1.7 (ERR bits); shipping meter firmware ${CAOKX} (16H/17H of the wrong length → 01H; 11H/12H of an unexpected length → 02H; 13H with data → no reply)`,
    confidence: 'L',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-28',
    title: 'Follow-up request for a frame that does not exist',
    statement:
      'A read follow-up (12H) whose SEQ names no frame of the item (0, or past the last follow-up frame), or whose DI names an item the meter does not have, is answered with D2H and error bit1 "no requested data". A 12H names its item itself (DI + SEQ): sent right after an 11H of another item it is answered with that frame of the item it names (or D2H 02H when the meter serves follow-up frames only for the read in progress), never with the bytes of the other item and never with silence.',
    threshold: 'C = D2H; ERR bit1 (unknown item: ERR = 02H); 12H after an 11H of another item: its own frame or D2H 02H',
    source: 'PROTOCOLS.md 1.3 (12H: DI + SEQ; SEQ = 01 for the first follow-up frame [vec]), 1.7 (ERR bit1)',
    confidence: 'L',
    notes: 'Numbering beyond the first follow-up frame, the error bit for a SEQ out of range, and how a meter answers a 12H for an item other than the last 11H are [BK].',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-29',
    title: 'Remote control (1CH) reply and relay report',
    statement:
      'A plain 1CH remote-control request (PA P0-P2 | C0-C3 | N1 | N2 | N3..N8 valid-until, 16 bytes) that the meter carries out is answered with 9CH and no data (L = 0); one it refuses with DCH and an error word. After it, status word 3 (DI 04000503) reports the relay truthfully: bit6 the last relay command (0 close, 1 trip), bit4 the actual relay state (0 closed, 1 open), bit7 the pre-trip alarm, bit12 keep-power (保电).',
    threshold: 'reply 9CH L = 0 or DCH + ERR; status word 3 bits 4/6/7/12 match the relay',
    source: 'PROTOCOLS.md 1.5 (payload; success reply 9CH L = 0 [vec]), 1.7 (ERR), 1.8 (status word 3 bits; bit12 from the 2013 amendments, one source)',
    confidence: 'M',
    notes: 'Meters built to the 2013 State Grid specs may require ESAM-encrypted control data (PA 98H/99H + ciphertext + MAC); the suite sends plain 1CH only to meters that declare capabilities.remoteControl.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-30',
    title: 'Direct close (1CH N1 = 1CH)',
    statement: 'A 1CH with N1 = 1CH (直接合闸) closes the relay at once, without the customer\'s key, whatever the relay type; status word 3 then reports bit6 = 0 (close) and bit4 = 0 (closed).',
    threshold: 'relay closed within 5 s of the 9CH reply',
    source: 'PROTOCOLS.md 1.5 (N1 table: 1C direct close; unattributed public code "直接合闸"); REQUIREMENTS.md FEE-11 (direct close releases allow-close)',
    confidence: 'L',
    notes: 'REQUIREMENTS.md FEE-06 notes that the 1CH code of the 2013 revision was not confirmed by any retrieved source.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-31',
    title: 'Alarm and alarm release (1CH N1 = 2AH / 2BH)',
    statement: 'A 1CH with N1 = 2AH (alarm) sets the alarm the meter reports in status word 3 bit7 without moving the relay; N1 = 2BH (alarm release) clears it, again without moving the relay.',
    threshold: 'bit7 set after 2AH, clear after 2BH; bit4 and bit6 unchanged',
    source: 'PROTOCOLS.md 1.5 (N1 2A/2B [BK]), 1.8 (bit7 pre-trip alarm); REQUIREMENTS.md FEE-06 (2AH alarm, 2BH alarm release)',
    confidence: 'L',
    notes: 'Which status bit a commanded alarm sets is [BK]: bit7 is named "pre-trip alarm".',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-32',
    title: 'Remote control the meter does not offer',
    statement:
      'A 1CH command the meter does not carry out (a meter that takes no plain 1CH, or an N1 it does not implement) is refused with DCH and changes nothing: relay, keep-power and alarm stay as they were. A meter that declares plain 1CH remote control carries it out (9CH); one that declares it does not refuses it.',
    threshold: 'DCH + ERR, nothing changed; declared support answered 9CH',
    source: 'PROTOCOLS.md 1.5 (plain 1CH accepted only by meters or configurations that allow it [BK]), 1.7 (ERR bit2 unauthorised)',
    confidence: 'L',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-33',
    title: 'Relay state across a power cycle',
    statement:
      'A meter whose relay was tripped by a 1CH command keeps it open, and status word 3 keeps reporting the trip command (bit6) and the open relay (bit4), after the mains go and come back: a power cut does not reconnect a customer.',
    threshold: 'status word 3 bit4 = 1 and bit6 = 1 after the mains return; the relay still open',
    source: 'PROTOCOLS.md 1.8 (bits 4 and 6); REQUIREMENTS.md FEE-12 (the relay state is re-asserted while command and actual state differ) [BK]',
    confidence: 'L',
    notes: 'No retrieved source states it for power cycles; a meter may declare meter.relay.keepsStateAcrossPowerCycle false.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'DLT645-34',
    title: 'Multi-function terminal output control (1DH)',
    statement:
      'A 1DH request carries one byte, the output type the meter switches its multi-function terminal to: 00 clock second pulse, 01 demand period, 02 time-slot switch. A meter answers a type it supports with 9DH (no data, or the type echoed) and refuses any other type with DDH and an error word; it never answers a 1DH with silence or with another function code.',
    threshold: 'C = 9DH for each type the meter declares (meter.multiFunctionOutputs), data empty or the type echoed; C = DDH with error bit 0, 1 or 2 for a type it does not declare',
    source:
      'PROTOCOLS.md 1.3 (1DH: 1-byte output type, replies 9DH / DDH) [BK]; unattributed public meter-bench code (a DL/T 645-2007 library building 1DH with pulse type 0 clock second pulse, 1 demand period, 2 time-slot switch; a firmware enum SECOUT / DEMANDOUT / TARIFFOUT; another bench adding 03/04 harmonic pulses)',
    confidence: 'L',
    notes: 'The reply data (empty or the echoed type) and the error word of a refusal are not confirmed against the standard text: the case accepts either reply form and any of error bits 0 (other), 1 (no data) and 2 (unauthorised).',
    origin: 'PROTOCOLS.md',
  }),
  ...CONVERTER_REQUIREMENTS,
  ...COLLECTION_REQUIREMENTS,
  ...MBUS_REQUIREMENTS,
  ...CJT188_REQUIREMENTS,
];

const BY_ID = new Map(REQUIREMENTS.map((r) => [r.id, r]));

export class UnknownRequirementError extends MeterLabError {
  constructor(id: string) {
    super('requirement.unknown', `unknown requirement id "${id}" (not in suites/requirements/catalog.ts)`);
  }
}

/** The catalog entry for `id`; throws UnknownRequirementError for an id not in the catalog. */
export function getRequirement(id: string): Requirement {
  const r = BY_ID.get(id);
  if (!r) throw new UnknownRequirementError(id);
  return r;
}

export function hasRequirement(id: string): boolean {
  return BY_ID.has(id);
}

/** GitHub-style anchor of an entry's heading in suites/requirements/README.md. */
export function requirementAnchor(id: string): string {
  return id.toLowerCase();
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The catalog as Markdown: one section per entry (the body of suites/requirements/README.md). */
export function catalogToMarkdown(requirements: readonly Requirement[] = REQUIREMENTS): string {
  const lines: string[] = [];
  lines.push('| id | title | confidence | threshold |', '|---|---|---|---|');
  for (const r of requirements) {
    lines.push(`| [${r.id}](#${requirementAnchor(r.id)}) | ${escapeCell(r.title)} | ${r.confidence} | ${escapeCell(r.threshold ?? '')} |`);
  }
  lines.push('');
  for (const r of requirements) {
    lines.push(`### ${r.id}`, '', `**${r.title}.** ${r.statement}`, '');
    if (r.threshold) lines.push(`- Threshold: ${r.threshold}`);
    lines.push(`- Source: ${r.source}`, `- Confidence: ${r.confidence}`);
    if (r.notes) lines.push(`- Notes: ${r.notes}`);
    lines.push(`- From: ${r.origin}`, '');
  }
  return lines.join('\n');
}

/** The catalog as plain text, one entry per paragraph (`meterlab requirements`). */
export function catalogToText(requirements: readonly Requirement[] = REQUIREMENTS): string {
  return requirements
    .map((r) => {
      const head = `${r.id} — ${r.title}. ${r.statement}`;
      const tail = [r.threshold ? `Threshold: ${r.threshold}` : '', `Source: ${r.source}`, `Confidence: ${r.confidence}`]
        .filter(Boolean)
        .join(' · ');
      return `${head}\n  ${tail}`;
    })
    .join('\n\n');
}
