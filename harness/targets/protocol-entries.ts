/**
 * The target protocols MeterLab ships, registered by importing them: one line per protocol
 * (protocols.ts). DL/T 645 is first; CJ/T 188 and M-Bus add their line here with their opener.
 */
import './dlt645-protocol.ts';
import './cjt188-protocol.ts';
import './mbus-protocol.ts';
import './converter-protocol.ts';
import './gw1376-protocol.ts';
