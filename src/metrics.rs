//! `/metrics` by Prometheus conventions (text format 0.0.4, encoded by `prometheus-client`):
//! every family has HELP and TYPE, counters end in `_total`, units are in the names
//! (`_seconds`, `_bytes`), each series keeps one label set for its whole life, and no family
//! counts a thing twice when summed.
//!
//! Two sources. The store, read at scrape time with aggregate queries only (no per-request rows
//! leave the database), so the figures are right across several instances and survive restarts.
//! And this process: Telegram API errors, the last successful getUpdates, and the `process_*`
//! families read from `/proc/self`.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::store::{Store, StoreError};
use crate::with_pool;

static TELEGRAM_API_ERRORS: AtomicU64 = AtomicU64::new(0);
static TELEGRAM_LAST_POLL: AtomicI64 = AtomicI64::new(0);
static STARTED_AT: AtomicI64 = AtomicI64::new(0);

/// Records when the daemon started: `process_start_time_seconds` when `/proc/stat` is hidden
/// (the unit's `ProcSubset=pid`).
pub fn mark_start() {
    let _ = STARTED_AT.compare_exchange(
        0,
        chrono::Utc::now().timestamp(),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
}

/// Counts one failed Telegram API call.
pub fn telegram_api_error() {
    TELEGRAM_API_ERRORS.fetch_add(1, Ordering::Relaxed);
}

pub fn telegram_api_errors() -> u64 {
    TELEGRAM_API_ERRORS.load(Ordering::Relaxed)
}

/// Records a successful getUpdates (the Telegram channel's "fetch").
pub fn telegram_polled() {
    TELEGRAM_LAST_POLL.store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
}

/// Unix seconds of the last successful getUpdates in this process.
pub fn telegram_last_poll() -> Option<i64> {
    match TELEGRAM_LAST_POLL.load(Ordering::Relaxed) {
        0 => None,
        t => Some(t),
    }
}

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot read the figures from the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot encode the metrics")]
    Encode(#[from] std::fmt::Error),
}

/// The `Content-Type` of what [`encode`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Histogram bucket bounds in seconds for request -> assignment / confirmation
/// (1 min .. 3 days: requests are answered in minutes to days, not milliseconds).
pub const BUCKETS: [i64; 10] = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];

/// Every state a channel can be in (`connecting_channel_state` has one series for each).
pub const CHANNEL_STATES: [&str; 5] = ["ok", "connecting", "stale", "standby", "off"];

type Labels = Vec<(&'static str, String)>;

/// Series of one family whose values were computed before the scrape.
#[derive(Debug)]
struct Series<M> {
    kind: MetricType,
    rows: Vec<(Labels, M)>,
}

impl<M> Series<M> {
    fn new(kind: MetricType) -> Self {
        Series {
            kind,
            rows: Vec::new(),
        }
    }
    fn push(&mut self, labels: Labels, value: M) {
        self.rows.push((labels, value));
    }
}

/// How one precomputed value encodes itself.
trait Value: std::fmt::Debug + Send + Sync + 'static {
    fn encode_value(&self, e: MetricEncoder) -> Result<(), std::fmt::Error>;
}

#[derive(Debug)]
struct G(f64);
impl Value for G {
    fn encode_value(&self, e: MetricEncoder) -> Result<(), std::fmt::Error> {
        ConstGauge::new(self.0).encode(e)
    }
}

#[derive(Debug)]
struct C(f64);
impl Value for C {
    fn encode_value(&self, e: MetricEncoder) -> Result<(), std::fmt::Error> {
        ConstCounter::new(self.0).encode(e)
    }
}

/// A histogram already aggregated by the database: per-bucket counts (not cumulative).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histo {
    pub sum: f64,
    pub count: u64,
    pub buckets: Vec<(f64, u64)>,
}
impl Value for Histo {
    fn encode_value(&self, mut e: MetricEncoder) -> Result<(), std::fmt::Error> {
        e.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }
}

impl<M: Value> EncodeMetric for Series<M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        if let [(labels, v)] = &self.rows[..]
            && labels.is_empty()
        {
            return v.encode_value(encoder);
        }
        for (labels, v) in &self.rows {
            v.encode_value(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }
    fn metric_type(&self) -> MetricType {
        self.kind
    }
}

/// The figures read from the store for one scrape.
#[derive(Debug, Default, Clone)]
pub struct StoreFigures {
    /// (channel, state, n)
    pub requests: Vec<(String, String, i64)>,
    /// (channel, to assignment, to confirmation)
    pub latencies: Vec<(String, Histo, Histo)>,
    /// (state, n)
    pub offers: Vec<(String, i64)>,
    /// (channel, status, n, attempts)
    pub outbox: Vec<(String, String, i64, i64)>,
}

/// A histogram from the non-cumulative rows of `latency_observations`: `(bucket, n, seconds)`,
/// bucket `i` counting latencies up to `BUCKETS[i]`, bucket `BUCKETS.len()` the rest.
fn histo_from(rows: &[(i64, i64, i64)]) -> Histo {
    let mut counts = vec![0u64; BUCKETS.len() + 1];
    let mut sum = 0i64;
    for (bucket, n, seconds) in rows {
        let i = usize::try_from(*bucket).unwrap_or(0).min(BUCKETS.len());
        counts[i] += u64::try_from(*n).unwrap_or(0);
        sum += seconds;
    }
    let bounds = BUCKETS
        .iter()
        .map(|b| *b as f64)
        .chain(std::iter::once(f64::INFINITY));
    Histo {
        sum: sum as f64,
        count: counts.iter().sum(),
        buckets: bounds.zip(counts).collect(),
    }
}

/// The latencies of `kind` (`assignment`, `confirmation`) per channel, as observed by the
/// store's triggers when they happened (migration 0110): a few rows, whatever the number of
/// requests stored.
async fn latency_histograms(store: &Store, kind: &str) -> Result<Vec<(String, Histo)>, StoreError> {
    let rows: Vec<(String, i64, i64, i64)> = with_pool!(store, p => {
        sqlx::query_as(
            "SELECT channel, CAST(bucket AS BIGINT), n, total_seconds FROM latency_observations \
             WHERE kind = $1 ORDER BY channel, bucket",
        )
        .bind(kind)
        .fetch_all(p)
        .await?
    });
    let mut out: Vec<(String, Histo)> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let channel = rows[i].0.clone();
        let group: Vec<(i64, i64, i64)> = rows[i..]
            .iter()
            .take_while(|r| r.0 == channel)
            .map(|r| (r.1, r.2, r.3))
            .collect();
        i += group.len();
        out.push((channel, histo_from(&group)));
    }
    Ok(out)
}

impl StoreFigures {
    /// Aggregates only: every query returns one row per label set, whatever the number of
    /// requests stored.
    pub async fn read(store: &Store) -> Result<StoreFigures, StoreError> {
        let requests: Vec<(String, String, i64)> = with_pool!(store, p => {
            sqlx::query_as("SELECT channel, status, COUNT(*) FROM requests GROUP BY channel, status ORDER BY channel, status")
                .fetch_all(p).await?
        });
        let assign = latency_histograms(store, "assignment").await?;
        let confirm = latency_histograms(store, "confirmation").await?;
        let mut channels: Vec<String> = requests.iter().map(|r| r.0.clone()).collect();
        channels.dedup();
        let latencies = channels
            .into_iter()
            .map(|ch| {
                let find = |v: &[(String, Histo)]| {
                    v.iter()
                        .find(|(c, _)| *c == ch)
                        .map(|(_, h)| h.clone())
                        .unwrap_or_else(|| histo_from(&[]))
                };
                let (a, c) = (find(&assign), find(&confirm));
                (ch, a, c)
            })
            .collect();
        let offers: Vec<(String, i64)> = with_pool!(store, p => {
            sqlx::query_as("SELECT state, COUNT(*) FROM offers GROUP BY state ORDER BY state").fetch_all(p).await?
        });
        let outbox: Vec<(String, String, i64, i64)> = with_pool!(store, p => {
            sqlx::query_as("SELECT channel, status, COUNT(*), CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM outbox GROUP BY channel, status ORDER BY channel, status")
                .fetch_all(p).await?
        });
        Ok(StoreFigures {
            requests,
            latencies,
            offers,
            outbox,
        })
    }
}

/// A channel as `/metrics` reports it.
#[derive(Debug, Clone)]
pub struct ChannelFigure {
    pub name: String,
    pub state: String,
    pub fetch_lag_secs: i64,
}

/// What this process knows about itself, from `/proc/self` (Linux); absent elsewhere.
#[derive(Debug, Default, Clone)]
pub struct ProcessFigures {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    pub start_time_seconds: f64,
    pub open_fds: f64,
    pub max_fds: f64,
    pub threads: f64,
}

impl ProcessFigures {
    pub fn read() -> Option<ProcessFigures> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
        // f[0] is field 3 (state); utime is field 14, stime 15, num_threads 20, starttime 22,
        // vsize 23, rss 24.
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        let start_time_seconds = match boot {
            Some(b) => b + num(19) / ticks,
            None => STARTED_AT.load(Ordering::Relaxed) as f64,
        };
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as f64)
            .unwrap_or(0.0);
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0);
        Some(ProcessFigures {
            cpu_seconds: (num(11) + num(12)) / ticks,
            threads: num(17),
            start_time_seconds,
            virtual_bytes: num(20),
            resident_bytes: num(21) * page,
            open_fds,
            max_fds,
        })
    }
}

/// Everything one scrape shows.
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    pub store: StoreFigures,
    pub channels: Vec<ChannelFigure>,
    pub backend: String,
    pub process: Option<ProcessFigures>,
}

fn l(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn gauge(reg: &mut Registry, name: &str, help: &str, unit: Option<Unit>, s: Series<G>) {
    match unit {
        Some(u) => reg.register_with_unit(name, help, u, s),
        None => reg.register(name, help, s),
    }
}

/// The text exposition of one scrape.
pub fn encode(scrape: &Scrape) -> Result<String, std::fmt::Error> {
    let mut reg = Registry::default();
    let st = &scrape.store;

    let mut info = Series::new(MetricType::Gauge);
    info.push(
        l(&[
            ("version", env!("CARGO_PKG_VERSION")),
            ("backend", &scrape.backend),
        ]),
        G(1.0),
    );
    gauge(
        &mut reg,
        "connecting_build_info",
        "The running version and database backend (always 1)",
        None,
        info,
    );

    let mut req = Series::new(MetricType::Gauge);
    for (ch, state, n) in &st.requests {
        req.push(l(&[("channel", ch), ("state", state)]), G(*n as f64));
    }
    gauge(
        &mut reg,
        "connecting_requests",
        "Requests stored, by the channel they came by and their current state (each request once)",
        None,
        req,
    );

    let mut to_assign = Series::new(MetricType::Histogram);
    let mut to_confirm = Series::new(MetricType::Histogram);
    for (ch, a, c) in &st.latencies {
        to_assign.push(l(&[("channel", ch)]), a.clone());
        to_confirm.push(l(&[("channel", ch)]), c.clone());
    }
    reg.register_with_unit(
        "connecting_request_to_assignment",
        "Time from a request's arrival to its assignment to a mediator",
        Unit::Seconds,
        to_assign,
    );
    reg.register_with_unit(
        "connecting_request_to_confirmation",
        "Time from a request's arrival to the confirmation sent to its requester",
        Unit::Seconds,
        to_confirm,
    );

    let mut offers = Series::new(MetricType::Gauge);
    for (state, n) in &st.offers {
        offers.push(l(&[("state", state)]), G(*n as f64));
    }
    gauge(
        &mut reg,
        "connecting_offers",
        "Offers made to mediators, by what became of them (each offer once)",
        None,
        offers,
    );

    let mut ob = Series::new(MetricType::Gauge);
    let mut attempts: std::collections::BTreeMap<&str, i64> = Default::default();
    for (ch, status, n, a) in &st.outbox {
        ob.push(l(&[("channel", ch), ("status", status)]), G(*n as f64));
        *attempts.entry(ch).or_default() += a;
    }
    gauge(
        &mut reg,
        "connecting_outbox_messages",
        "Outbox messages by channel and status (dead = dead letters)",
        None,
        ob,
    );
    let mut att = Series::new(MetricType::Counter);
    for (ch, a) in attempts {
        att.push(l(&[("channel", ch)]), C(a as f64));
    }
    reg.register(
        "connecting_outbox_attempts",
        "Delivery attempts made by the outbox",
        att,
    );

    let mut lag = Series::new(MetricType::Gauge);
    let mut up = Series::new(MetricType::Gauge);
    let mut state = Series::new(MetricType::Gauge);
    for c in &scrape.channels {
        lag.push(l(&[("channel", &c.name)]), G(c.fetch_lag_secs as f64));
        up.push(
            l(&[("channel", &c.name)]),
            G(if c.state == "ok" { 1.0 } else { 0.0 }),
        );
        for s in CHANNEL_STATES {
            state.push(
                l(&[("channel", &c.name), ("state", s)]),
                G(if c.state == s { 1.0 } else { 0.0 }),
            );
        }
    }
    gauge(
        &mut reg,
        "connecting_channel_fetch_lag",
        "Time since the channel last completed a fetch",
        Some(Unit::Seconds),
        lag,
    );
    gauge(
        &mut reg,
        "connecting_channel_up",
        "1 when the channel fetches normally, else 0",
        None,
        up,
    );
    gauge(
        &mut reg,
        "connecting_channel_state",
        "The channel's state: 1 on the current one (ok, connecting, stale, standby, off), 0 on the others",
        None,
        state,
    );

    let mut tg = Series::new(MetricType::Counter);
    tg.push(Vec::new(), C(telegram_api_errors() as f64));
    reg.register(
        "connecting_telegram_api_errors",
        "Telegram API calls that failed, in this process",
        tg,
    );

    if let Some(p) = &scrape.process {
        let one = |v: f64| {
            let mut s = Series::new(MetricType::Gauge);
            s.push(Vec::new(), G(v));
            s
        };
        let mut cpu = Series::new(MetricType::Counter);
        cpu.push(Vec::new(), C(p.cpu_seconds));
        reg.register_with_unit(
            "process_cpu",
            "Total user and system CPU time spent",
            Unit::Seconds,
            cpu,
        );
        let process_gauges = [
            (
                "process_resident_memory",
                "Resident memory size",
                Some(Unit::Bytes),
                p.resident_bytes,
            ),
            (
                "process_virtual_memory",
                "Virtual memory size",
                Some(Unit::Bytes),
                p.virtual_bytes,
            ),
            (
                "process_start_time",
                "Start time of the process since the Unix epoch",
                Some(Unit::Seconds),
                p.start_time_seconds,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                None,
                p.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                None,
                p.max_fds,
            ),
            ("process_threads", "Number of OS threads", None, p.threads),
        ];
        for (name, help, unit, v) in process_gauges {
            gauge(&mut reg, name, help, unit, one(v));
        }
    }

    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &reg)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_from_observation_rows_are_per_bucket() {
        // 4 samples: 2 under a minute (40 s in all), 1 under 5 min, 1 over 3 days; an
        // out-of-range bucket counts as +Inf.
        let h = histo_from(&[(0, 2, 40), (1, 1, 200), (10, 1, 400_000), (99, 1, 500_000)]);
        assert_eq!(h.count, 5);
        assert_eq!(h.sum, 900_240.0);
        assert_eq!(h.buckets[0], (60.0, 2));
        assert_eq!(h.buckets[1], (300.0, 1));
        assert_eq!(h.buckets.last(), Some(&(f64::INFINITY, 2)));
        assert_eq!(h.buckets.len(), BUCKETS.len() + 1);
    }

    #[test]
    fn counters_end_in_total_and_units_are_in_the_names() {
        let mut s = Scrape {
            backend: "sqlite".into(),
            process: ProcessFigures::read(),
            ..Scrape::default()
        };
        s.store.outbox.push(("email".into(), "sent".into(), 2, 3));
        s.channels.push(ChannelFigure {
            name: "imap".into(),
            state: "stale".into(),
            fetch_lag_secs: 5,
        });
        let text = encode(&s).unwrap();
        assert!(
            text.contains("# TYPE connecting_outbox_attempts_total counter"),
            "{text}"
        );
        assert!(text.contains("connecting_outbox_attempts_total{channel=\"email\"} 3"));
        assert!(text.contains("connecting_channel_fetch_lag_seconds{channel=\"imap\"} 5"));
        assert!(text.contains("connecting_channel_state{channel=\"imap\",state=\"stale\"} 1"));
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }
}
