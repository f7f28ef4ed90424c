//! CQL for incremental extraction: `lastmodified` windows in Confluence's
//! `"yyyy-MM-dd HH:mm"` format.
//!
//! CQL dates are minute-precise and read in the *user's* time zone (UTC on the twin), so a
//! window starts at the high-water mark, floored to the minute, minus an overlap (an hour by
//! default): the caller dedupes on (id, version).

use std::time::Duration;

/// The default overlap of a `lastmodified` window.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(3600);

/// `ms` since the Unix epoch as `"yyyy-MM-dd HH:mm"` in a zone `utc_offset_minutes` east of
/// UTC, floored to the minute. Instants outside the years -9999..=9999 are clamped to them.
pub fn cql_datetime(ms: i64, utc_offset_minutes: i32) -> String {
    use jiff::{Timestamp, tz};
    let floored = ms.div_euclid(60_000).saturating_mul(60_000);
    let ts = Timestamp::from_millisecond(floored).unwrap_or(if floored < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    let offset =
        tz::Offset::from_seconds(utc_offset_minutes.saturating_mul(60)).unwrap_or(tz::Offset::UTC);
    ts.to_zoned(tz::TimeZone::fixed(offset))
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// `2024-07-30T08:52:50.426Z` (or with an offset such as `+02:00`; without one, UTC) as ms
/// since the epoch. `None` for anything else; never panics.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil: jiff::civil::DateTime = s.parse().ok()?;
    Some(
        civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

/// A CQL string literal: quoted, with `"` and `\` escaped.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A `content/search` query over some spaces and content types, optionally from a
/// high-water mark, in `lastmodified` order (oldest first).
#[derive(Clone, Debug, Default)]
pub struct CqlQuery {
    /// Space keys (empty: every space).
    pub spaces: Vec<String>,
    /// Content types: `page`, `blogpost` (empty: both).
    pub types: Vec<String>,
    /// The high-water mark, ms since the epoch: content modified at or after it (minus the
    /// overlap) is found.
    pub since_ms: Option<i64>,
    /// Content modified strictly before this (ms), for bounded windows.
    pub until_ms: Option<i64>,
    /// Pushed back from `since_ms` (default one hour).
    pub overlap: Option<Duration>,
    /// The user's zone, minutes east of UTC (0 on the twin).
    pub utc_offset_minutes: i32,
}

impl CqlQuery {
    /// The CQL text.
    pub fn to_cql(&self) -> String {
        let mut parts = Vec::new();
        match self.spaces.as_slice() {
            [] => {}
            [one] => parts.push(format!("space = {}", quote(one))),
            many => parts.push(format!(
                "space in ({})",
                many.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            )),
        }
        let types: Vec<String> = if self.types.is_empty() {
            vec!["page".into(), "blogpost".into()]
        } else {
            self.types.clone()
        };
        match types.as_slice() {
            [one] => parts.push(format!("type = {one}")),
            many => parts.push(format!("type in ({})", many.join(", "))),
        }
        if let Some(since) = self.since_ms {
            let overlap = self.overlap.unwrap_or(DEFAULT_OVERLAP).as_millis() as i64;
            parts.push(format!(
                "lastmodified >= {}",
                quote(&cql_datetime(since - overlap, self.utc_offset_minutes))
            ));
        }
        if let Some(until) = self.until_ms {
            // Minute precision: "< the next minute" keeps everything up to `until`.
            parts.push(format!(
                "lastmodified < {}",
                quote(&cql_datetime(until + 60_000, self.utc_offset_minutes))
            ));
        }
        format!("{} order by lastmodified asc", parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_and_parse() {
        let ms = parse_iso_ms("2024-07-30T08:52:50.426Z").unwrap();
        assert_eq!(cql_datetime(ms, 0), "2024-07-30 08:52");
        assert_eq!(cql_datetime(ms, 120), "2024-07-30 10:52");
        assert_eq!(cql_datetime(ms, -9 * 60), "2024-07-29 23:52");
        assert_eq!(cql_datetime(0, 0), "1970-01-01 00:00");
        assert_eq!(
            parse_iso_ms("2024-07-30T10:52:50.426+02:00"),
            Some(ms),
            "offsets count"
        );
        assert_eq!(
            cql_datetime(parse_iso_ms("2024-02-29T23:59:00Z").unwrap(), 1),
            "2024-03-01 00:00"
        );
        assert_eq!(parse_iso_ms("yesterday"), None);
        assert_eq!(parse_iso_ms("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso_ms("2024-02-30T00:00:00Z"), None, "no 30 February");
        assert_eq!(
            parse_iso_ms("2024-07-30T08:52:50.426"),
            Some(ms),
            "no offset: UTC"
        );
        // Once a panic: a multi-byte character where the offset's digits should be.
        assert_eq!(parse_iso_ms("2024-07-30T08:52+0\u{e9}0"), None);
        assert_eq!(parse_iso_ms("2024-07-30T08:52-\u{1F600}"), None);
        assert!(
            cql_datetime(i64::MAX, 0).starts_with("9999-12-3"),
            "clamped, no panic"
        );
        assert!(
            cql_datetime(i64::MIN, i32::MAX).starts_with('-'),
            "clamped, no panic"
        );
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_string_panics_the_date_parser(s in "\\PC{0,40}") {
            let _ = parse_iso_ms(&s);
        }

        #[test]
        fn dates_round_trip_through_cql(ms in -30_000_000_000_000i64..200_000_000_000_000, off in -840i32..=840) {
            let text = cql_datetime(ms, off);
            let back = parse_iso_ms(&format!("{}:00", text.replace(' ', "T"))).unwrap();
            prop_assert_eq!(back - off as i64 * 60_000, ms.div_euclid(60_000) * 60_000);
        }
    }

    #[test]
    fn window_query() {
        let q = CqlQuery {
            spaces: vec!["ENG".into(), "O\"PS".into()],
            types: vec!["page".into()],
            since_ms: parse_iso_ms("2025-03-01T12:30:59Z"),
            ..CqlQuery::default()
        };
        assert_eq!(
            q.to_cql(),
            r#"space in ("ENG", "O\"PS") and type = page and lastmodified >= "2025-03-01 11:30" order by lastmodified asc"#
        );
    }
}
