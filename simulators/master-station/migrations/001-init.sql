-- Reference master station, schema 1. Money is in fen (分, 0.01 yuan) as BIGINT: no rounding drift.
-- Energy in Wh as BIGINT (DL/T 645 energies are XXXXXX.XX kWh, i.e. 10 Wh resolution).
-- Times are epoch milliseconds from the station's injected Clock (BIGINT), never the server's now().

CREATE TABLE channel (
  id          TEXT PRIMARY KEY,            -- e.g. "bus-0007" or "tcp://10.0.0.5:4001"
  kind        TEXT NOT NULL,               -- 'rs485' | 'tcp' | 'concentrator' (later)
  description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE account (
  id                 TEXT PRIMARY KEY,     -- customer number (户号)
  name               TEXT NOT NULL,
  phone              TEXT NOT NULL,
  meter_address      TEXT NOT NULL UNIQUE, -- 12 BCD digits (DL/T 645 A0..A5, most significant first)
  channel_id         TEXT NOT NULL REFERENCES channel(id),
  payment_mode       TEXT NOT NULL CHECK (payment_mode IN ('prepaid', 'postpaid')),
  tariff_fen_per_kwh INTEGER NOT NULL CHECK (tariff_fen_per_kwh >= 0),
  keep_power         TEXT CHECK (keep_power IN ('master', 'global', 'local', 'holiday')), -- KP-06; NULL = none
  warning_fen        BIGINT NOT NULL CHECK (warning_fen >= 0), -- FEE-13: the customer's warning amount
  balance_fen        BIGINT NOT NULL DEFAULT 0,
  -- What the station last confirmed from status word 3 bit 4: 'closed' | 'open' | 'unknown'.
  relay              TEXT NOT NULL DEFAULT 'unknown' CHECK (relay IN ('closed', 'open', 'unknown')),
  -- Why the station wants the relay open: 'arrears' | NULL (wants it closed).
  cut_reason         TEXT CHECK (cut_reason IN ('arrears')),
  warned             BOOLEAN NOT NULL DEFAULT FALSE, -- SMS sent since the balance last went above the threshold
  created_at         BIGINT NOT NULL
);

-- Daily frozen forward active energy (05060101) as read, one row per meter and freeze day.
CREATE TABLE daily_reading (
  account_id  TEXT NOT NULL REFERENCES account(id),
  day         TEXT NOT NULL,               -- freeze day YYYY-MM-DD (local to the station's time zone)
  energy_wh   BIGINT NOT NULL,
  read_at     BIGINT NOT NULL,
  PRIMARY KEY (account_id, day)
);

-- One charge per account and day: billing twice for a day is a no-op (primary key).
CREATE TABLE charge (
  account_id  TEXT NOT NULL REFERENCES account(id),
  day         TEXT NOT NULL,
  energy_wh   BIGINT NOT NULL,
  amount_fen  BIGINT NOT NULL,
  charged_at  BIGINT NOT NULL,
  PRIMARY KEY (account_id, day)
);

-- Top-ups are exactly-once by payment id (the payment system's key).
CREATE TABLE top_up (
  payment_id  TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES account(id),
  amount_fen  BIGINT NOT NULL CHECK (amount_fen > 0),
  received_at BIGINT NOT NULL
);

-- Switching work: durable, so a restarted station carries on where it stopped.
CREATE TABLE switch_job (
  id            BIGSERIAL PRIMARY KEY,
  account_id    TEXT NOT NULL REFERENCES account(id),
  action        TEXT NOT NULL CHECK (action IN ('disconnect', 'reconnect')),
  reason        TEXT NOT NULL,             -- 'arrears' | 'top-up' | 'forced' | 'payment-mode' | 'recovery'
  forced        BOOLEAN NOT NULL DEFAULT FALSE,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  next_at       BIGINT NOT NULL,           -- earliest instant of the next attempt
  created_at    BIGINT NOT NULL,
  finished_at   BIGINT,
  cause_layer   TEXT,                      -- FEE-19 on failure: 'station' | 'channel' | 'meter-refusal' | 'relay-fault' | 'keep-power'
  cause_detail  TEXT
);
CREATE INDEX switch_job_due ON switch_job (state, next_at);
-- At most one open job per account.
CREATE UNIQUE INDEX switch_job_one_open ON switch_job (account_id) WHERE state = 'pending';

-- Everything that happened, in order: billing, SMS, switching, top-ups, audits.
CREATE TABLE event (
  id          BIGSERIAL PRIMARY KEY,
  at          BIGINT NOT NULL,
  account_id  TEXT,
  kind        TEXT NOT NULL,
  detail      JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX event_account ON event (account_id, id);

-- Outbound SMS, durable: written in the transaction that decides to warn, sent after commit.
CREATE TABLE sms_outbox (
  id          BIGSERIAL PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES account(id),
  phone       TEXT NOT NULL,
  text        TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  sent_at     BIGINT,
  attempts    INTEGER NOT NULL DEFAULT 0
);
