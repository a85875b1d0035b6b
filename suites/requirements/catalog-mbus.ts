/**
 * Wired M-Bus (EN 13757-2 / EN 13757-3) meter-level requirements, written from the protocol notes
 * ../shared/protocols/MBUS.md (rules as the standard and libmbus apply them), each naming its
 * section. The M-Bus reading suite (suites/mbus-reading) checks them. Spread into REQUIREMENTS
 * (catalog.ts) with one line.
 *
 * Confidence as in catalog.ts: H = normative text or shipping code (libmbus, whose behaviour
 * MBUS.md records and the corpus confirms); M = one secondary source; L = inferred ([BK]).
 */
import type { Requirement } from './catalog.ts';

const R = (r: Requirement): Requirement => r;

export const MBUS_REQUIREMENTS: readonly Requirement[] = [
  R({
    id: 'MBUS-01',
    title: 'M-Bus identification',
    statement:
      'A variable-data response (RSP_UD, CI 72) carries the 12-byte fixed header: identification number (8-digit BCD, least significant byte first), manufacturer (three letters in 15 bits), version, medium, access number, status, signature. Its bytes 0–7 are the slave\'s secondary address. The device\'s header must equal what it declares (identification, manufacturer, version, medium), and the reply to a request at its primary address carries that address in its A field.',
    threshold: 'identification, manufacturer, version and medium equal to the declaration',
    source: 'shared/protocols/MBUS.md 5 (CI 72), 7 (fixed header; secondary address = bytes 0–7); corpus: 74 CI 72 frames of libmbus decode with these fields',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-02',
    title: 'M-Bus data records as declared',
    statement:
      'Each data record is a DIB (DIF + DIFEs: function, storage number, tariff, subunit) and a VIB (VIF + VIFEs: quantity, unit and decimal scale from the VIF tables) followed by its data. Every record the device declares must be sent exactly once with a value (not "no data", no invalid BCD), with the declared storage number, tariff, function and subunit, and with a VIF of the declared scale; its scaled value must lie in the declared range. A VIF whose exponent does not match the number ("wrong VIF scaling") shows as a scale other than the declared one.',
    threshold: 'every declared record present once, value present, VIF scale and storage/tariff/function/subunit as declared, value within the declared range',
    source: 'shared/protocols/MBUS.md 8 (DIF, DIFE: storage, tariff, subunit, function), 9 (primary VIF table), 10 (FD/FB tables); the declaration check is MeterLab\'s (ARCHITECTURE.md "Targets and declarations")',
    confidence: 'H',
    notes: 'The scale is the VIF table\'s (a correction VIFE 70–7D is not counted in it).',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-03',
    title: 'Stored and instantaneous values consistent',
    statement:
      'Storage number 0 is the current value and storage numbers above 0 are stored (historic) values, so a stored value of a cumulative register (energy, volume) never exceeds the current one. In a heat meter the thermal power equals the volume flow times the temperature difference times the heat coefficient of water (about 1.163 kWh/(m³·K) near 50 °C), within rounding and the coefficient\'s variation; heat is carried only by water, so of two values of the energy register the larger comes with the larger volume.',
    threshold: 'stored ≤ current for energy and volume; power within 10 % (plus the rounding of the four values) of flow × ΔT × 1.163 when flow ≥ 0.01 m³/h and ΔT ≥ 3 K, below those at most what 0.01 m³/h and 3 K (or more) carry, +10 %; energies two VIF steps apart come with volumes in the same order',
    source: 'storage number 0 = actual value: EN 13757-3 as read for MBUS.md 8 [BK]; heat coefficient: EN 1434 as cited by simulators/heat-meter/model.ts [BK]; the 10 % band is MeterLab\'s',
    confidence: 'L',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-04',
    title: 'FCB: repeat or next telegram',
    statement:
      'REQ_UD2 with FCV = 1: when the master toggles the frame count bit (FCB) the slave sends the next telegram; when the master repeats the same FCB (its reply was lost) the slave repeats its last telegram unchanged.',
    threshold: 'same FCB → the last telegram byte for byte; toggled FCB → a new telegram (access number advanced)',
    source: 'shared/protocols/MBUS.md 3 (C field, FCB protocol), 12.4; libmbus multi-telegram readout 7B/5B/7B',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-05',
    title: 'SND_NKE answered and resets the link',
    statement: 'SND_NKE (C = 40) to the slave\'s address is answered with the single character E5 and resets the link layer: the FCB state is forgotten, so the next REQ_UD2 gets a new telegram whatever its FCB. SND_NKE to 255 (broadcast without reply) resets it too, silently. The other master requests get their link-layer reply: SND_UD E5, REQ_UD1 E5 or RSP_UD.',
    threshold: 'E5; the first REQ_UD2 after it (or after SND_NKE to 255, which gets no reply) is never a repeat, its access number a step forward (MBUS.md 7: increments with each readout); E5 to SND_UD (application reset, CI 50); E5 or RSP_UD to REQ_UD1',
    source: 'shared/protocols/MBUS.md 3 (SND_NKE: link reset / initialise, resets the FCB state; reply E5; SND_UD E5; REQ_UD1 E5 or RSP_UD), 4 (255: broadcast without reply), 7 (access number), 12.4',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-06',
    title: 'Primary addressing',
    statement:
      'A slave answers at its primary address (1–250) with that address in the reply\'s A field, answers at 254 (broadcast with reply) with its own address, stays silent at 255 (broadcast without reply), and does not answer requests for another primary address.',
    source: 'shared/protocols/MBUS.md 4 (A field: 0, 1–250, 253, 254, 255), 12.4',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-07',
    title: 'Secondary addressing',
    statement:
      'SND_UD to 253 with CI 52 and the 8-byte secondary address (ID nibble F, manufacturer FFFF, version FF, medium FF are wildcards) selects a matching slave, which answers E5; REQ_UD2 to 253 then reads the selected slave. A selection that does not match deselects the slave silently; SND_NKE to 253 deselects it. While selected, a SND_UD to 253 is for it (E5) and a request for another primary address still is not.',
    threshold: 'E5 to the full and to a wildcard selection; the read at 253 gives the declared identity; silence at 253 after a non-matching selection and after SND_NKE to 253; while selected, E5 to SND_UD at 253 and silence at another primary address',
    source: 'shared/protocols/MBUS.md 6 (select, wildcards, deselection), 4 (253 = network layer)',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-08',
    title: 'Found by a primary scan and a secondary search',
    statement:
      'A primary scan (SND_NKE to each address 0–250, an E5 marks a slave) finds the device at exactly its declared primary address, and the secondary wildcard search (walk the ID digits 0–9 from FFFFFFFF, narrowing at collisions, reading each single match at 253) finds it with its declared secondary address.',
    source: 'shared/protocols/MBUS.md 4 (libmbus primary scan), 6 (libmbus wildcard search)',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-09',
    title: 'Bad frames get no reply',
    statement: 'A request with a wrong checksum, a request for another primary address, a selection of another secondary address, and a selection (CI 52, for 253 only) of its own secondary address sent to another primary address get no reply; the slave still answers a valid request afterwards.',
    source: 'shared/protocols/MBUS.md 2 (checksum, exact length), 4, 6 (a non-matching selection stays silent), 12.1 and 12.4',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
  R({
    id: 'MBUS-10',
    title: 'Multi-telegram read',
    statement:
      'A reading that does not fit one telegram ends each telegram but the last with DIF 1F ("more records follow"); the master asks again with FCB toggled until a telegram no longer ends in 1F. The device delivers the declared number of telegrams that way, each with the same identity.',
    threshold: 'the declared number of telegrams; 1F closing each but the last',
    source: 'shared/protocols/MBUS.md 8 (DIF 1F), 11 (multi-telegram readout)',
    confidence: 'H',
    origin: 'MBUS.md',
  }),
];
