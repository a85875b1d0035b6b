-- Reference master station, schema 2: collection from concentrators over Q/GDW 1376.1 (issue 12;
-- REQUIREMENTS.md COL-01, COL-02, COL-05, GAP-02, ROB-09, ROB-10). collection.ts writes and reads it.
-- Values of A.14 (XXXXXX.XXXX) are kept exactly as BIGINT in units of 0.0001 (kWh or m³): no float.
-- Times are epoch milliseconds from the station's injected Clock (BIGINT), never the server's now().

-- A concentrator (terminal) the station collects from, keyed "AAAA-TTTTT" (area code, terminal address).
CREATE TABLE concentrator (
  id           TEXT PRIMARY KEY,
  area_code    TEXT NOT NULL,
  terminal     INTEGER NOT NULL,
  online       BOOLEAN NOT NULL DEFAULT FALSE,
  last_login_at BIGINT,
  last_seen_at BIGINT,
  UNIQUE (area_code, terminal)
);

-- The meter archive the station keeps for each concentrator; `confirmed_at` is set when the terminal
-- confirmed the AFN 04 F10 / F249 unit that carried this record with exactly these fields.
CREATE TABLE collection_point (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  pn           INTEGER NOT NULL,
  serial       INTEGER NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('electricity', 'water', 'gas', 'heat')),
  record       TEXT NOT NULL,            -- the record as sent (JSON of the ArchivePoint): a change means "download again"
  confirmed_at BIGINT,
  PRIMARY KEY (concentrator_id, pn)
);

-- What is due for a day (COL-01 应采): one row per concentrator, point and day, written at the first
-- collection round of that day whether the terminal is online or not. `attempts` counts the requests
-- that asked for it; `collected_attempt` is the attempt that got it (1 = first-attempt success).
CREATE TABLE collection_due (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  day          TEXT NOT NULL,            -- YYYY-MM-DD, local to the station's time zone
  pn           INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  collected_at BIGINT,
  collected_attempt INTEGER,
  PRIMARY KEY (concentrator_id, day, pn)
);

-- One row per concentrator and day: rounds tried, and rounds that found the terminal offline.
CREATE TABLE collection_terminal_day (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  day          TEXT NOT NULL,
  rounds       INTEGER NOT NULL DEFAULT 0,
  offline_rounds INTEGER NOT NULL DEFAULT 0,
  reached_at   BIGINT,                   -- first answer to a request for this day (NULL: never reached)
  PRIMARY KEY (concentrator_id, day)
);

-- The daily frozen readings (AFN 0D F161 / F249), stored once per (concentrator, pn, day) (ROB-10).
CREATE TABLE meter_reading (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  pn           INTEGER NOT NULL,
  day          TEXT NOT NULL,
  kind         TEXT NOT NULL,
  reading_time TEXT,                     -- the terminal's A.15 "YYYY-MM-DD hh:mm", as received
  value_e4     BIGINT NOT NULL,          -- electricity: forward active total, kWh x 10^4; others: the value in `unit`, x 10^4
  tariffs_e4   JSONB,                    -- electricity: T1..TM, kWh x 10^4 each (null for an absent tariff)
  unit         INTEGER,                  -- CJ/T 188 unit byte (2CH m³, 05H kWh); null for electricity
  meter_type   INTEGER,                  -- CJ/T 188 meter type / M-Bus medium; null for electricity
  received_at  BIGINT NOT NULL,
  PRIMARY KEY (concentrator_id, pn, day)
);
CREATE INDEX meter_reading_day ON meter_reading (day, concentrator_id);

-- Delivery of readings to the utilities' HTTP endpoints (COL-02: to marketing by 12:00; water, gas
-- and heat to their utilities): one row per endpoint and reading, written in the transaction that
-- stores the reading, sent after commit, retried until the endpoint takes it (at least once).
CREATE TABLE reading_delivery (
  utility      TEXT NOT NULL,
  concentrator_id TEXT NOT NULL,
  pn           INTEGER NOT NULL,
  day          TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  delivered_at BIGINT,
  PRIMARY KEY (utility, concentrator_id, pn, day),
  FOREIGN KEY (concentrator_id, pn, day) REFERENCES meter_reading (concentrator_id, pn, day)
);
CREATE INDEX reading_delivery_pending ON reading_delivery (utility, delivered_at);

-- Hourly current readings of water and gas points (AFN 0C F249) for the leak rule (GAP-08):
-- water at 02:00-05:00 each night, gas every hour. `at` is the slot (hh:00 local), not the
-- terminal's reading time.
CREATE TABLE hourly_reading (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  pn           INTEGER NOT NULL,
  at           BIGINT NOT NULL,
  value_e4     BIGINT NOT NULL,
  PRIMARY KEY (concentrator_id, pn, at)
);

-- Leak warnings (GAP-08, MM-08): one per point and episode, named by the night (water) or day (gas)
-- that completed the rule.
CREATE TABLE leak_warning (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  pn           INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  day          TEXT NOT NULL,
  last_day     TEXT NOT NULL,            -- the latest night/day the episode went on (no new warning while it does)
  raised_at    BIGINT NOT NULL,
  detail       JSONB NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (concentrator_id, pn, day)
);

-- Usage reminders (issue 12 E): a day whose usage (this day's reading minus the day before's) is
-- above the configured threshold for the kind; one per point and day.
CREATE TABLE usage_reminder (
  concentrator_id TEXT NOT NULL REFERENCES concentrator(id),
  pn           INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  day          TEXT NOT NULL,
  usage_e4     BIGINT NOT NULL,
  threshold_e4 BIGINT NOT NULL,
  raised_at    BIGINT NOT NULL,
  PRIMARY KEY (concentrator_id, pn, day)
);
