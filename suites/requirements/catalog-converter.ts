/**
 * Requirements of the interface converter (通信接口转换器) and the converter suite (suites/converter),
 * issue 10. Spread into REQUIREMENTS (catalog.ts) with one line.
 *
 * Two kinds of entry:
 * - MM-01, MM-04, MM-10 copied from ../shared/requirements/REQUIREMENTS.md section 7, faithfully,
 *   with their sources and confidence;
 * - CONV-xx: MeterLab's own, where no public source gives the rule or the number (confidence L,
 *   each saying so): the latency and loss a converter declares and is held to, and the wake-up of
 *   the battery meters it reaches (the rule from MM-06, applied to the converter's downstream hop).
 *   MLGW, the downstream protocol of the converting mode, is MeterLab's own too
 *   (docs/protocols/meterlab-gas-wireless.md).
 */
import type { Requirement } from './catalog.ts';

const R = (r: Requirement): Requirement => r;

export const CONVERTER_REQUIREMENTS: readonly Requirement[] = [
  R({
    id: 'MM-01',
    title: 'Role of the converter',
    statement:
      'A communication interface converter (通信接口转换器) gathers data from electricity, water, gas and heat meters, converts it, and exchanges it with the concentrator. DB37/T 5104-2017 defines: §3 data link, transport, data identifiers, meter info, application layer; §4 converter requirements, including power consumption, data and clock retention over power loss, data channel, acquisition reliability, continuous-operation stability, reliability indicators; §5 tests, including a data-acquisition reliability test; Annex A converter comm-module self-identification protocol; Annex D status word; Annex E data transmission requirements.',
    source:
      'DB37/T 5104-2017 "多表合一"采集数据转换标准 (Shandong; co-authored by State Grid Shandong; in force 2018-01-01) https://guifanku.com/599464.html ; TOC https://ebook.chinabuilding.com.cn/zbooklib/bookpdf/probation?SiteID=1&bookID=110796',
    confidence: 'H',
    notes: 'H for the structure; the standard\'s numbers were not retrieved (GAP-05). The suite checks the role: every meter in the converter\'s archive is read through it.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'MM-04',
    title: 'Routing water/gas/heat through the concentrator',
    statement:
      'The 698.45 archive must accept protocol 4 = CJ/T 188-2004 (COL-10). Base 376.1 has no CJ/T 188 protocol code, so a 376.1 concentrator needs either a provincial extension or transparent forwarding. Over PLC, a 376.2 node added with protocol type 00 (transparent) carries non-645 frames. Test: the DUT forwards a CJ/T 188 frame byte-exact over RS-485 (AFN10-F1 port 2–4) and over carrier, or else rejects it with an explicit error (see CON-07).',
    threshold: 'byte-exact forwarding',
    source: 'NUC97X `STM32F4xx/Terminal/Terminal_ReadMeter_3762.c:1690-1706`, `Terminal_Uart_AFN10_Forwarding.c`',
    confidence: 'H',
    notes: 'NUC97X = gdgly/NUC97X_JS @ b8a5193. The converter suite applies the byte-exact rule to the converter in transparent mode: the frame from 68H to 16H reaches the meter unchanged, and the meter\'s reply comes back unchanged (the FE preamble in front is the link\'s own).',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'MM-10',
    title: 'Gas via bridge or converter',
    statement: 'SGCC/Smartchip networks gas meters as: gas meter ↔ bridge module ↔ concentrator ↔ data centre. The Shanghai converter protocol mentioned in the brief is not public.',
    source: 'CN105185075A https://patents.google.com/patent/CN105185075A/en',
    confidence: 'M',
    notes:
      'Because the jointly designed converter protocol is not public, MeterLab stands MLGW, its own documented wireless protocol, in for it (docs/protocols/meterlab-gas-wireless.md); the converter suite checks that a CJ/T 188 read of a gas meter reached in protocol-converting mode returns that meter\'s own values.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'CONV-01',
    title: 'Latency a converter adds, within its declaration',
    statement:
      'The time a converter adds to an exchange — the response delay seen on its RS-485 side minus the meter\'s own response delay, retries on the downstream link included — stays within what the converter declares: `limits.addedLatencyMs` for an awake or mains-powered meter, `limits.addedLatencyWakeUpMs` for a sleeping battery meter (its wake-up included).',
    threshold: 'every measured added latency ≤ the declared limit (reference: 2500 ms awake, 10 000 ms with a wake-up)',
    source: 'MeterLab\'s own rule (no public source gives a converter latency limit; DB37/T 5104-2017 §4/Annex E may, GAP-05); the reference limits follow from docs/protocols/meterlab-gas-wireless.md 5-7 (2.5 s wake-up, 3 hop attempts)',
    confidence: 'L',
    notes: 'Without a view of the downstream link (a real converter) the meter\'s own delay is unknown and the whole upstream response delay is judged: an upper bound of the added latency.',
    origin: 'MeterLab',
  }),
  R({
    id: 'CONV-02',
    title: 'Loss within the declared limit',
    statement:
      'Of N single-attempt reads of the meters in its archive made through the converter, the share left unanswered does not exceed the converter\'s declared `limits.loss` (the converter\'s own retries on its lossy wireless hops are what keeps it there). An upstream attempt with no reply is a lost read.',
    threshold: 'lost / N ≤ limits.loss (reference: 0.05, N = 40)',
    source: 'MeterLab\'s own rule, after MM-01 (DB37/T 5104-2017 §4 "acquisition reliability", §5 data-acquisition reliability test; numbers not retrieved, GAP-05) and MM-07 (upload completeness ≥ 90 % for DMA analysis)',
    confidence: 'L',
    origin: 'MeterLab',
  }),
  R({
    id: 'CONV-03',
    title: 'Battery meters reached through a wake-up',
    statement:
      'A converter reaches a sleeping battery meter in its archive: before a request it sends a wake-up preamble longer than the meter\'s sniff period (MM-06: a meter sniffing every 2 s needs ≥ 2 s, default 2.5 s), so the meter answers although it was asleep when the request came.',
    threshold: 'preamble on the downstream link ≥ the declared sniff period; the sleeping meter answers',
    source: 'MeterLab\'s application to the converter of MM-06 (CN102054340A https://eureka.patsnap.com/patent-CN102054340A, M); 1.25 × the sniff period is MeterLab\'s choice (docs/protocols/meterlab-gas-wireless.md 5)',
    confidence: 'L',
    origin: 'MeterLab',
  }),
];
