-- Soroka schema v1: market history, events, signals, deliveries, performance, paper trading.
CREATE TABLE symbols (
    symbol        text PRIMARY KEY,
    base_asset    text NOT NULL,
    quote_asset   text NOT NULL,
    status        text NOT NULL,
    spot_allowed  boolean NOT NULL,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Closed candles: one row per symbol, interval and open time (UTC ms). Idempotent upserts.
CREATE TABLE candles (
    symbol        text NOT NULL,
    interval      text NOT NULL,
    open_time     bigint NOT NULL,
    open          double precision NOT NULL,
    high          double precision NOT NULL,
    low           double precision NOT NULL,
    close         double precision NOT NULL,
    volume        double precision NOT NULL,
    quote_volume  double precision NOT NULL,
    trades        bigint NOT NULL,
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, interval, open_time)
);
CREATE INDEX candles_open_time_brin ON candles USING brin (open_time);

-- How far each symbol's closed candles have been published on the candles stream (the outbox cursor):
-- after a crash between storing and publishing, the ingest publishes what is stored beyond it.
CREATE TABLE publish_cursors (
    strategy      text NOT NULL,
    symbol        text NOT NULL,
    interval      text NOT NULL,
    last_open_time bigint NOT NULL,
    PRIMARY KEY (strategy, symbol, interval)
);

-- 24h ticker snapshots: one row per symbol per minute (the preserved history of Binance's 24h figures).
CREATE TABLE ticker_snapshots (
    symbol        text NOT NULL,
    minute        bigint NOT NULL,
    last_price    double precision NOT NULL,
    open_price    double precision NOT NULL,
    high          double precision NOT NULL,
    low           double precision NOT NULL,
    volume        double precision NOT NULL,
    quote_volume  double precision NOT NULL,
    trade_count   bigint NOT NULL,
    liquidity_rank integer NOT NULL,
    PRIMARY KEY (symbol, minute)
);
CREATE INDEX ticker_snapshots_minute_brin ON ticker_snapshots USING brin (minute);

-- Every detected event, with its metrics, confidence and the verdict of every filter.
CREATE TABLE events (
    event_id      text PRIMARY KEY,
    strategy      text NOT NULL,
    symbol        text NOT NULL,
    type          text NOT NULL,
    interval      text NOT NULL,
    open_time     bigint NOT NULL,
    close         double precision NOT NULL,
    level         double precision NOT NULL,
    strength      double precision NOT NULL,
    volume_ratio  double precision NOT NULL,
    body_ratio    double precision NOT NULL,
    confidence    double precision NOT NULL,
    metrics       jsonb NOT NULL,
    verdicts      jsonb NOT NULL,
    passed        boolean NOT NULL,
    detected_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_strategy_time ON events (strategy, open_time);

-- Events that passed every filter and were published.
CREATE TABLE signals (
    event_id      text PRIMARY KEY REFERENCES events (event_id),
    strategy      text NOT NULL,
    symbol        text NOT NULL,
    type          text NOT NULL,
    open_time     bigint NOT NULL,
    close_time    bigint NOT NULL,
    published_at  bigint NOT NULL,
    payload       jsonb NOT NULL
);
CREATE INDEX signals_strategy_time ON signals (strategy, open_time);

-- Telegram deliveries: a redelivered stream message never posts twice; replies find their parent.
CREATE TABLE deliveries (
    id            bigserial PRIMARY KEY,
    strategy      text NOT NULL,
    ref           text NOT NULL,
    kind          text NOT NULL,
    chat_id       text NOT NULL,
    part          integer NOT NULL DEFAULT 0,
    message_id    bigint,
    status        text NOT NULL,          -- queued, sent, stale, failed
    reason        text,
    payload       jsonb,                  -- the stream message (the outbox: queued rows are sent from here)
    parent        text,                   -- for reports: the event id whose signal message they reply to
    open_time     bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    UNIQUE (strategy, ref, kind, chat_id, part)
);
CREATE INDEX deliveries_queued ON deliveries (strategy, kind, open_time) WHERE status = 'queued';

-- Post-signal performance per horizon (NULL = unavailable or not yet known).
CREATE TABLE performance (
    event_id      text PRIMARY KEY REFERENCES events (event_id),
    strategy      text NOT NULL,
    symbol        text NOT NULL,
    type          text NOT NULL,
    open_time     bigint NOT NULL,
    entry         double precision NOT NULL,
    confidence    double precision NOT NULL,
    pnl           jsonb NOT NULL DEFAULT '{}'::jsonb,
    pnl_net       jsonb NOT NULL DEFAULT '{}'::jsonb,
    mfe           double precision,
    mae           double precision,
    final         boolean NOT NULL DEFAULT false,
    reported_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX performance_pending ON performance (strategy, open_time) WHERE NOT final;

-- Paper trading: positions and equity history.
CREATE TABLE paper_trades (
    trade_id      text PRIMARY KEY,
    strategy      text NOT NULL,
    event_id      text NOT NULL,
    symbol        text NOT NULL,
    side          text NOT NULL,
    status        text NOT NULL,
    entry_time    bigint NOT NULL,
    entry_price   double precision NOT NULL,
    quantity      double precision NOT NULL,
    margin        double precision NOT NULL,
    leverage      integer NOT NULL,
    exit_time     bigint,
    exit_price    double precision,
    pnl           double precision,
    fees          double precision NOT NULL DEFAULT 0,
    reason        text,
    position      jsonb,
    UNIQUE (strategy, event_id)
);
CREATE TABLE paper_equity (
    strategy      text NOT NULL,
    at            bigint NOT NULL,
    balance       double precision NOT NULL,
    equity        double precision NOT NULL,
    PRIMARY KEY (strategy, at)
);
