//! Structured logs on stderr in the JSON form go-plugin forwards to the engine's log (`@level`, `@message`,
//! `@module`, `@timestamp`), at the level the user chose with `TF_LOG_PROVIDER` or `TF_LOG`.
//!
//! Events of other crates (the AWS SDK, HTTP, TLS) are kept to warnings and errors whatever the level: their
//! debug output can carry request headers, and credentials must never reach a log.

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A tracing subscriber writing hclog-style JSON lines to stderr.
pub struct HclogSubscriber {
    level: LevelFilter,
    own_prefix: &'static str,
    module: &'static str,
}

impl HclogSubscriber {
    /// Logs events of targets starting with `own_prefix` at `level`, others at warn and above, tagged `module`.
    pub fn new(level: LevelFilter, own_prefix: &'static str, module: &'static str) -> Self {
        Self { level, own_prefix, module }
    }

    /// The level the engine's environment asks for: `TF_LOG_PROVIDER`, else `TF_LOG`; off when neither is set.
    pub fn level_from_env() -> LevelFilter {
        let pick = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        match pick("TF_LOG_PROVIDER").or_else(|| pick("TF_LOG")) {
            Some(v) => parse_level(&v),
            None => LevelFilter::OFF,
        }
    }

    /// Installs a subscriber for this process, at the level from the environment.
    pub fn install(own_prefix: &'static str, module: &'static str) {
        let sub = Self::new(Self::level_from_env(), own_prefix, module);
        let _ = tracing::subscriber::set_global_default(sub);
    }

    fn cap_for(&self, target: &str) -> LevelFilter {
        if target.starts_with(self.own_prefix) { self.level } else { self.level.min(LevelFilter::WARN) }
    }
}

/// Parses a `TF_LOG` value; `JSON` (Terraform's machine-readable trace) counts as trace, unknown words as off.
pub fn parse_level(v: &str) -> LevelFilter {
    match v.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::OFF,
    }
}

impl Subscriber for HclogSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && self.cap_for(metadata.target()) >= *metadata.level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Foreign targets are capped below the own level, so the own level bounds everything.
        Some(self.level)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Spans carry nothing in this log format; events are self-contained.
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = format_event(event, self.module, &timestamp_now());
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
    }
}

/// Renders one event as a JSON line.
fn format_event(event: &Event<'_>, module: &str, timestamp: &str) -> String {
    let meta = event.metadata();
    let mut fields = JsonFields::default();
    event.record(&mut fields);
    let mut obj = serde_json::Map::new();
    obj.insert("@level".into(), level_name(*meta.level()).into());
    obj.insert("@message".into(), fields.message.unwrap_or_default().into());
    obj.insert("@module".into(), module.into());
    obj.insert("@timestamp".into(), timestamp.into());
    if !meta.target().is_empty() {
        obj.insert("@caller".into(), meta.target().into());
    }
    for (k, v) in fields.fields {
        obj.insert(k, v);
    }
    let mut line = serde_json::Value::Object(obj).to_string();
    line.push('\n');
    line
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

#[derive(Default)]
struct JsonFields {
    message: Option<String>,
    fields: Vec<(String, serde_json::Value)>,
}

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.fields.push((field.name().to_string(), text.into()));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.fields.push((field.name().to_string(), value.into()));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name().to_string(), value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name().to_string(), value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name().to_string(), value.into()));
    }
}

/// The current time as RFC 3339 UTC with microseconds, computed without a date crate.
fn timestamp_now() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format_timestamp(now.as_secs(), now.subsec_micros())
}

fn format_timestamp(secs: u64, micros: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut s = String::with_capacity(27);
    let _ = write!(
        s,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(parse_level("INFO"), LevelFilter::INFO);
        assert_eq!(parse_level("json"), LevelFilter::TRACE);
        assert_eq!(parse_level("bogus"), LevelFilter::OFF);
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format_timestamp(1_795_609_196, 42), "2026-11-25T12:19:56.000042Z");
        assert_eq!(format_timestamp(951_782_400, 0), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn foreign_crates_are_capped_at_warn() {
        let s = HclogSubscriber::new(LevelFilter::TRACE, "crossrepl", "crossrepl");
        assert_eq!(s.cap_for("crossrepl::aws"), LevelFilter::TRACE);
        assert_eq!(s.cap_for("aws_smithy_runtime::client"), LevelFilter::WARN);
        let quiet = HclogSubscriber::new(LevelFilter::ERROR, "crossrepl", "crossrepl");
        assert_eq!(quiet.cap_for("hyper"), LevelFilter::ERROR);
    }

    #[test]
    fn events_render_as_hclog_json() {
        struct Capture(std::sync::Mutex<Vec<String>>);
        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, e: &Event<'_>) {
                self.0.lock().unwrap().push(format_event(e, "crossrepl", "T"));
            }
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
        let cap = std::sync::Arc::new(Capture(Default::default()));
        tracing::subscriber::with_default(cap.clone(), || tracing::info!(bucket = "b1", n = 3, "put policy"));
        let line = cap.0.lock().unwrap()[0].clone();
        let j: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(j["@level"], "info");
        assert_eq!(j["@message"], "put policy");
        assert_eq!(j["@module"], "crossrepl");
        assert_eq!(j["bucket"], "b1");
        assert_eq!(j["n"], 3);
    }
}
