/**
 * Requirements of the CJ/T 188 water and gas meter suites (suites/cjt188-reading,
 * suites/cjt188-valve), spread into REQUIREMENTS in catalog.ts:
 * - MM-02, MM-03, MM-06, MM-08, MM-09 copied faithfully from REQUIREMENTS.md section 7, with their
 *   sources and confidence;
 * - CJ/T 188-2004 meter-level requirements (CJT188-xx) written from PROTOCOLS.md section 2, each
 *   naming its section and evidence tags ([vec] confirmed by checksum-verified vectors, [BK]
 *   background knowledge: confidence L).
 */
import type { Requirement } from './catalog.ts';

const R = (r: Requirement): Requirement => r;

export const CJT188_REQUIREMENTS: readonly Requirement[] = [
  // ---- from REQUIREMENTS.md section 7 (MM) -------------------------------------------------
  R({
    id: 'MM-02',
    title: 'CJ/T 188 scope and frame',
    statement:
      'CJ/T 188-2004 covers one-master/one-slave and one-master/multi-slave reading of water, gas and heat meters. Frame: 68 T A0..A6 C L DI0 DI1 SER data CS 16. Read meter data: C = 01, DI = 901F, reply C = 81. Reply body: current cumulative flow + unit (0x2C = m³), settlement-day cumulative + unit, real time (7 bytes), status ST (2 bytes).',
    source:
      'https://max.book118.com/html/2016/0512/42778307.shtm ; `xijunzhou/sdqr_energy_node_class-20180705:Src/meter/cj188.h`, `Src/meter/cj188.c`; `ronje/rhilex:device/cjt1882004/types.go`',
    confidence: 'H',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'MM-03',
    title: 'CJ/T 188 status word',
    statement:
      'Decode valve open / closed / abnormal and battery low from ST. Conformance fixtures must include every valve state and battery-low. (The bit positions seen in one implementation are masks 0x00 / 0x40 / 0xC0 for the valve and 0x20 for battery, with byte order implementation-dependent, so verify against the standard.)',
    source: '`xijunzhou/sdqr_energy_node_class-20180705:Src/meter/cj188.h`',
    confidence: 'M',
    notes: 'ST layouts as named dialect options: harness/protocols/cjt188/dialect.ts (standard [BK], kingda, masks).',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'MM-06',
    title: 'Wake-up of battery meters',
    statement:
      'A typical battery wireless meter wakes every 2 s and listens for 560 µs. If it detects a carrier it opens a 40 ms receive window; otherwise it sleeps again. So the reader\'s wake-up preamble must be longer than the sniff period (≥2 s, default 2.5 s). The same meter stores 15-min increments (96 per day).',
    threshold: 'sniff period 2 s; wake-up preamble ≥ 2 s (default 2.5 s)',
    source: 'CN102054340A https://eureka.patsnap.com/patent-CN102054340A',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'MM-08',
    title: 'Leak warning heuristic',
    statement:
      'A leak appears as water or gas that is always in use at least at a low rate, with no zero-flow interval. Published variants: hourly buckets (24 per day) with an "unoccupied" threshold by season and workday; a sliding window with a higher threshold at peak hours.',
    threshold: 'no zero-flow hour in 24 hourly buckets (thresholds: GAP-08)',
    source:
      'youdao example from patent text http://dict.youdao.com/example/blng/eng/%E4%BD%8E%E9%80%9F%E7%8E%87%E6%A8%A1%E5%BC%8F ; CN113720425A https://ww.vipzhuanli.com/pat/books/202111009047.0/1.html ; CN114370914B http://vipzhuanli.com/pat/books/202210023441.8/1.html',
    confidence: 'M',
    notes: 'M for the shape of the rule; thresholds are GAP-08. The suite checks the meter side: a continuous flow at the rate the device declares it shows (lowFlowVisibleLph) must raise the volume in every hour, or no leak rule can see it.',
    origin: 'REQUIREMENTS.md',
  }),
  R({
    id: 'MM-09',
    title: 'Data items per meter type',
    statement:
      'Water/gas: current cumulative volume, settlement-day cumulative volume, meter time, valve state, battery state. Heat meters add heat energy, power, flow, supply/return temperature and working hours (CJ/T 188 heat DI; not retrieved, L).',
    source: 'MM-02/03 sources',
    confidence: 'M',
    origin: 'REQUIREMENTS.md',
  }),

  // ---- CJ/T 188-2004 meter-level requirements from PROTOCOLS.md section 2 -------------------
  R({
    id: 'CJT188-01',
    title: 'Meter type T',
    statement:
      'T names the meter: 10H cold, 11H hot, 12H drinking, 13H reclaimed water, 20H/21H heat/cooling, 30H gas, 40H electricity, AAH any type. A meter answers requests for its own type (or AAH); a request for a type of another family is not for it.',
    source:
      'PROTOCOLS.md 2.2 (unattributed public code KingDa CJT-188-2004.h; hupengwu/fox-edge-server-protocol CJT188Type.java; ronje/rhilex:device/cjt1882004/types.go; aixiwang/python_cjt188)',
    confidence: 'M',
    notes: 'The types are H (several sources); "no reply to another family" is inferred from addressing by T, L for the silence itself. Some meters ignore T: the declaration says so (ignoresMeterType) and the case then requires the reply to carry the meter\'s own type.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-02',
    title: 'Read address 03H',
    statement:
      'Read address is C = 03H with DI 810A; the reply C = 83H carries the meter\'s address in A0..A6 (no data). Sent to AA x7 with T = AAH it is answered by the one meter on the line with its own address, never with the wildcard.',
    source: 'PROTOCOLS.md 2.3 (03 = read address, 09 = read key version: sources agree), 2.4 (810A; Fox uses 03 with DI 810A); vectors 6, 7 [vec]',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-03',
    title: 'Data identifiers',
    statement:
      'Read data (01H) identifiers: 901F metering data, D120..D12B history of the last 1..12 months, 8102 price table, 8103 settlement day, 8104 reading day, 8105 purchase amount; each declared identifier is answered with the layout of the data dictionary, DI in the meter\'s byte order (standard DI0 first; some devices send DI1 first).',
    source: 'PROTOCOLS.md 2.4 (unattributed public code, KingDa; gas-meter tool; vec for byte order); D120..D12B and the 8103/8104 layout [BK]; 8102/8105 layouts not in the sources (opaque)',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-04',
    title: 'Units of volume',
    statement:
      'Each cumulative flow is 4 BCD bytes XXXXXX.XX followed by a unit byte: 29H L, 2CH m³ (other codes: J, Wh, kWh, MWh, kJ, MJ, GJ, W, kW, MW, L/h, m³/h). The unit byte must be the one of the value\'s scale.',
    source: 'PROTOCOLS.md 2.5 (unattributed public code; Fox CJT188Unit.java; vec: 556677.00 m³)',
    confidence: 'H',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-05',
    title: 'Valve control A017',
    statement:
      'Valve control is write data 04H with DI A017 and one byte: 55H open, 99H close (AAH exercise and 77H half-open are vendor extras; Fox-Edge devices use control 2AH / reply AAH). The reply is 84H with DI SER ST; the valve\'s state shows in ST (00 open, 01 closed, 11 abnormal).',
    threshold: 'the state reached within the motor time the device declares (no figure in the sources)',
    source: 'PROTOCOLS.md 2.4 (unattributed public code: gas-meter tool 04 04 17 A0 55/99), 2.5 (reply layout [BK]; Fox variant reply AA 05 A0 17 SER ST0 ST1 [vec])',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-06',
    title: 'Stuck valve reported',
    statement:
      'A valve that does not reach the commanded position is reported: ST shows the valve abnormal (11), or the command gets an abnormal reply (D6 = 1); it never reports the commanded state it did not reach.',
    source: 'PROTOCOLS.md 2.3 (D6 communication status: abnormal), 2.5 (ST valve 11 = abnormal); REQUIREMENTS.md MM-03',
    confidence: 'L',
    notes: 'Inferred from the ST encoding; no source describes the stuck-valve behaviour itself.',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-07',
    title: 'Write standard time A015',
    statement:
      'Write data 04H with DI A015 and the 7-byte real time (ss mm hh DD MM YY YY, low first) sets the meter clock: 901F\'s real time then follows the sent time within the meter clock tolerance (CLK-01: ≤ 10 s, taken for CJ/T 188 meters).',
    threshold: '|meter − sent − elapsed| ≤ 10 s',
    source: 'PROTOCOLS.md 2.4 (gas-meter tool: 04 0A 15 A0, L = 10), 2.5 (real time layout); byte order of A015 [BK]; REQUIREMENTS.md CLK-01 for the tolerance',
    confidence: 'L',
    origin: 'PROTOCOLS.md',
  }),
  R({
    id: 'CJT188-08',
    title: 'Frames not for the meter are ignored',
    statement:
      'A meter answers only a valid frame addressed to it: a frame for another address, with a wrong CS (sum from 68H to the last DATA byte) or whose body is shorter than its L gets no reply, and the meter answers the next valid request.',
    source: 'PROTOCOLS.md 2.1 (address, L and CS definitions); REQUIREMENTS.md ROB-01 (corrupted frames are discarded)',
    confidence: 'M',
    origin: 'PROTOCOLS.md',
  }),
];
