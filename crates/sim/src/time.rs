//! Timestamps as milliseconds since the Unix epoch (UTC), with the few formats the Confluence
//! API speaks: ISO-8601 with milliseconds (`2024-07-30T08:52:50.426Z`), CQL date literals
//! (`"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd"`…) and `X-RateLimit-Reset` (`yyyy-MM-ddTHH:mmZ`).
//! Civil-date arithmetic after Howard Hinnant's `days_from_civil` algorithms; no time zones
//! (the twin's users all live in UTC, see docs/sim.md).

use std::time::{SystemTime, UNIX_EPOCH};

pub const MS_PER_DAY: i64 = 86_400_000;

/// Wall-clock now in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` for days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub struct Parts {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub milli: u32,
}

pub fn parts(ms: i64) -> Parts {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        milli: (rem % 1000) as u32,
    }
}

/// `2024-07-30T08:52:50.426Z`, the v2 API's `createdAt`.
pub fn iso(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.milli
    )
}

/// `2024-07-30T08:52Z`, the `X-RateLimit-Reset` header.
pub fn iso_minute(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}Z",
        p.year, p.month, p.day, p.hour, p.minute
    )
}

/// `2024/07/30` (blog post URLs and `ri:posting-day`).
pub fn posting_day(ms: i64) -> String {
    let p = parts(ms);
    format!("{:04}/{:02}/{:02}", p.year, p.month, p.day)
}

/// Parses an ISO-8601 UTC timestamp (`2024-07-30T08:52:50.426Z`, `…:50Z`, `…+00:00`, or a bare
/// date). Offsets other than UTC are applied.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find('T') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let base = parse_date(date, '-')?;
    if rest.is_empty() {
        return Some(base);
    }
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = &off[1..];
        let (h, m) = off
            .split_once(':')
            .unwrap_or((off.get(..2)?, off.get(2..).unwrap_or("0")));
        (
            t,
            sign * (h.parse::<i64>().ok()? * 3_600_000 + m.parse::<i64>().ok()? * 60_000),
        )
    } else {
        (rest, 0)
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut it = hms.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: i64 = it.next().unwrap_or("0").parse().ok()?;
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut ms: i64 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(3).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        ms = format!("{digits:0<3}").parse().ok()?;
    }
    Some(base + h * 3_600_000 + m * 60_000 + sec * 1000 + ms - offset_ms)
}

fn parse_date(s: &str, sep: char) -> Option<i64> {
    let mut it = s.split(sep);
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * MS_PER_DAY)
}

/// A CQL date literal: `yyyy-MM-dd HH:mm`, `yyyy/MM/dd HH:mm`, `yyyy-MM-dd` or `yyyy/MM/dd`
/// (minute precision, UTC).
pub fn parse_cql_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let sep = if date.contains('/') { '/' } else { '-' };
    let base = parse_date(date, sep)?;
    match time {
        None => Some(base),
        Some(t) => {
            let (h, m) = t.split_once(':')?;
            let h: i64 = h.parse().ok()?;
            let m: i64 = m.parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            Some(base + h * 3_600_000 + m * 60_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        for ms in [
            0,
            1_704_067_200_000,
            1_722_329_570_426,
            951_782_400_000, /* 2000-02-29 */
        ] {
            assert_eq!(parse_iso(&iso(ms)), Some(ms), "{}", iso(ms));
        }
        assert_eq!(iso(1_722_329_570_426), "2024-07-30T08:52:50.426Z");
        assert_eq!(
            parse_iso("2024-07-30T10:52:50+02:00"),
            parse_iso("2024-07-30T08:52:50Z")
        );
        assert_eq!(parse_iso("2024-13-01"), None);
    }

    #[test]
    fn cql_dates() {
        let t = parse_cql_date("2024-07-30 08:52").unwrap();
        assert_eq!(iso(t), "2024-07-30T08:52:00.000Z");
        assert_eq!(parse_cql_date("2024/07/30 08:52"), Some(t));
        assert_eq!(
            iso(parse_cql_date("2024-07-30").unwrap()),
            "2024-07-30T00:00:00.000Z"
        );
        assert_eq!(parse_cql_date("2024-07-30 25:00"), None);
        assert_eq!(parse_cql_date("yesterday"), None);
        assert_eq!(iso_minute(t + 59_000), "2024-07-30T08:52Z");
        assert_eq!(posting_day(t), "2024/07/30");
    }
}
