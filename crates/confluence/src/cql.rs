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
/// UTC, floored to the minute.
pub fn cql_datetime(ms: i64, utc_offset_minutes: i32) -> String {
    let local = ms.div_euclid(60_000) + utc_offset_minutes as i64;
    let days = local.div_euclid(24 * 60);
    let minute_of_day = local.rem_euclid(24 * 60);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// `2024-07-30T08:52:50.426Z` (or with an offset such as `+02:00`) as ms since the epoch.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once('T')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (time, offset_min) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0i64)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = off[1..].replace(':', "");
        if off.len() != 4 {
            return None;
        }
        let h: i64 = off[..2].parse().ok()?;
        let m: i64 = off[2..].parse().ok()?;
        (t, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let mut tp = time.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let sec: f64 = tp.next().unwrap_or("0").parse().ok()?;
    let days = days_from_civil(y, mo, d);
    let ms = ((days * 24 + h) * 60 + mi - offset_min) * 60_000 + (sec * 1000.0).round() as i64;
    Some(ms)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
