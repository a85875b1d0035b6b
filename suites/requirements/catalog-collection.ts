/**
 * Requirements of multi-meter collection (the concentrator and the master station over Q/GDW
 * 1376.1), issue 12, for suites/collection. Spread into REQUIREMENTS (catalog.ts) with one line.
 * Copied from ../shared/requirements/REQUIREMENTS.md sections 1, 3, 8 and 10, with their sources
 * and confidence; where a threshold is one of the GAP defaults the notes say so.
 */
import type { Requirement } from './catalog.ts';

const R = (r: Requirement): Requirement => r;
const NUC97X = 'NUC97X = gdgly/NUC97X_JS @ b8a5193 (Jiangsu concentrator firmware)';

export const COLLECTION_REQUIREMENTS: readonly Requirement[] = [
  R({
    id: 'COL-01',
    title: 'Success-rate metric definition',
    statement:
      'Daily collection success rate = meters whose daily frozen reading was collected ÷ meters due. Track a separate first-attempt success count and the number of offline terminals. The suite must report all three per concentrator per day.',
    threshold: '≥ 99.5 % for electricity, ≥ 98 % for water, gas and heat (GAP-01 defaults)',
    source: 'Columns SHOULD_COLL_AMOUNT, SUCC, ONETIME_COLL_NUM, TERMINA_OFFLINE_NUM in the SGCC operations-control PL/SQL package PKG_YWGK_DW_DSM (2014; repository not recorded)',
    confidence: 'M',
    notes: 'The thresholds are GAP-01\'s proposed defaults (confidence L): no public number was found.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'COL-02',
    title: 'Daily frozen data delivered to marketing',
    statement: 'The collection system pushes each user\'s daily frozen energy to the marketing system by 12:00. Marketing processes it at 16:00.',
    threshold: 'at the master station by 12:00',
    source: 'PKG_YWGK_DW_DSM (P_ENT_DW_BM_CONSPQ_DAY)',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'COL-03',
    title: 'Concentrator reading schedule',
    statement:
      'For smart meters the concentrator starts reading each meter\'s daily frozen data at 00:05 every day. It must re-read (补抄) the last 3 days of daily frozen data. For meters without a daily freeze, it reads real-time values and stores them as the frozen value.',
    threshold: 'start 00:05; every point\'s data at the concentrator by 04:00 (GAP-02, HPLC/RS-485); the last 3 days re-read',
    source: 'https://gaojiufeng.cn/?id=2833540 (exam answer that quotes the concentrator specification)',
    confidence: 'M',
    notes: 'The 04:00 deadline is GAP-02\'s proposed default (confidence L).',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'COL-04',
    title: 'Failed re-read is reported',
    statement: 'When 补抄 fails, the concentrator writes an event record and reports it to the master (376.1 uses ERC39 "补抄失败事件").',
    source: `gaojiufeng.cn/?id=2833540; ${NUC97X} STM32F4xx/Terminal/I2_SetInitLib_Project2xx_USER0xx.c:340 (ERC39)`,
    confidence: 'M',
    notes: 'The ERC 39 record layout is not in our sources: MeterLab\'s (pn, time, day) — docs/protocols/meterlab-four-meter-1376.md.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'COL-06',
    title: 'Concentrator capacity',
    statement: 'One concentrator must hold at least 1024 meter archive entries.',
    threshold: '≥ 1024 archive entries',
    source: `${NUC97X} STM32F4xx/H698/Project698_2xx_USER0xx.h:125 (NUM_RMmax 1024)`,
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'COL-10',
    title: 'Protocol-type coverage in the meter archive',
    statement:
      '376.1 AFN04-F10 protocol codes: 0 = do not read, 1 = DL/T 645-1997, 2 = AC sampling, 30 = DL/T 645-2007, 31 = narrowband-PLC module interface. 698.45 archive (class 6000) protocol enum: 0 unknown, 1 645-97, 2 645-07, 3 698.45, 4 CJ/T 188-2004. Conformance: the DUT must accept each code, and must reject or ignore reserved codes safely.',
    threshold: 'every record of the archive accepted and given back as set',
    source: `${NUC97X} STM32F4xx/Head/AFN04.h:144-153; STM32F4xx/DL698/DL698_SETInit_6000_Project3xx_USER0xx.c`,
    confidence: 'H',
    notes:
      "376.1 has no code for CJ/T 188 or M-Bus meters: the collection suite downloads them with MeterLab's four-meter extension F249 (codes 40 and 41, docs/protocols/meterlab-four-meter-1376.md, GAP-12), DL/T 645-2007 meters with F10 code 30.",
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'COL-12',
    title: 'Scale of the four-meter pilot: 96-point curves',
    statement:
      'Shandong: 50,000 households and more than 10 million records a day, about 200 records per household per day, which implies 96-point (15-minute) curves plus water, gas and heat items. The harness load profile must sustain at least 200 records per household per day into the master.',
    threshold: "every electricity meter's 15-minute curves of the day (F101 energy, F81 power, F89 voltage) at the concentrator by the deadline, equal to the meter's own load records; ≥ 200 items a household a day in the province benchmark",
    source: "the brief's article (not re-verified); REQUIREMENTS.md COL-12 (derived, confidence L)",
    confidence: 'L',
    notes:
      'The curves come from the meters\' DL/T 645 load records (06000001, given-time record block; format from public concentrator firmware, [BK] points in harness/protocols/dlt645/README.md) and go up as 1376.1 AFN 0D F81/F89/F101 with Td_c. The benchmark (bench/province-day.ts) counts one item per curve point and quantity.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'CON-02',
    title: 'Observed uplink defaults',
    statement: 'Heartbeat period 15 min (1 / 5 / 10 min in other builds); response timeout 5 s, or 60 s with 3 retries; CON flags 0x07. Harness defaults: heartbeat 15 min; timeout 5 s; 3 retries.',
    threshold: 'a heartbeat at the declared period',
    source: `${NUC97X} STM32F4xx/Terminal/I2_SetInitLib_Project2xx_USER0xx.c:85-99`,
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'CON-04',
    title: 'Confirmed active reports',
    statement:
      'These frame types need master confirmation and must be retransmitted until confirmed or until the retries run out: login, logout, heartbeat, important event, scheduled task, meter event, clock request.',
    source: `${NUC97X} STM32F4xx/Terminal/Terminal_Uart_AutoEvent.c:125`,
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'CON-07',
    title: 'Transparent forwarding (376.1 AFN10-F1)',
    statement:
      'Port numbers: 1 = internal AC sampling, 2–4 = RS-485 ports 1–3, 31 = carrier. The forwarded reply carries port and length and the data; leading 0xFE bytes are stripped. A frame the terminal cannot forward is rejected explicitly.',
    threshold: 'byte-exact forwarding both ways, or an explicit refusal',
    source: `${NUC97X} STM32F4xx/Terminal/Terminal_Uart_AFN10_Forwarding.c:14-24,86-260`,
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'ROB-08',
    title: 'Concentrator reboot',
    statement: 'Reboot mid-task. Pass: archive, task config and stored data survive; the clock continues; pending active reports are resent.',
    source: 'CON-10; Relay_Remote.c power-up row of TAB_RelayStaInside',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'ROB-09',
    title: 'GPRS drop and re-login',
    statement: 'Drop the TCP link. Pass: redial at the F8 interval; login frame first, then heartbeat; unconfirmed active reports are resent; the master 补采s any gap.',
    source: `CON-02/03/04; ${NUC97X} STM32F4xx/Head/AFN0D.h:156,349,463`,
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'ROB-10',
    title: 'Duplicate and late frames',
    statement:
      'Replay an old response, duplicate a confirmation, and deliver a frame after the Tp window. Pass: storage is idempotent (key: meter, data item, freeze timestamp); a frame whose Tp is outside the "permitted transmit delay" is discarded; a duplicate confirmation has no effect.',
    source: 'CON-01',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
];
