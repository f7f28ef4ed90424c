//! Instants as the store keeps them: RFC 3339 in, `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, milliseconds)
//! out. The calendar is jiff's.

use jiff::Timestamp;

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (`2024-03-01T10:00:00.123Z`,
/// `…+02:00`, lower-case `t`/`z`, a space instead of `T`, up to nine fraction digits; below
/// a millisecond is truncated; a leap second counts as :59). `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // RFC 3339's shape, which jiff's (wider, ISO 8601) grammar does not enforce: a full date and
    // time with seconds, then `Z` or a `±HH:MM` offset.
    let date_time_ok = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !date_time_ok {
        return None;
    }
    let rest = &b[19..];
    let (fraction, offset) = match rest
        .iter()
        .position(|c| !(c.is_ascii_digit() || *c == b'.'))
    {
        Some(i) => rest.split_at(i),
        None => return None,
    };
    if let Some(digits) = fraction.strip_prefix(b".") {
        if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
    } else if !fraction.is_empty() {
        return None;
    }
    let offset_ok = match offset {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if !offset_ok {
        return None;
    }
    let mut text = s.to_string();
    // jiff reads a leap second only at the end of a minute it can check; RFC 3339 allows :60,
    // kept as :59 like the old store did.
    if &b[17..19] == b"60" {
        text.replace_range(17..19, "59");
    }
    let ts: Timestamp = text.parse().ok()?;
    Some(ts.as_millisecond())
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` of epoch milliseconds (clamped to the years jiff knows,
/// -9999 to 9999).
pub fn format_millis(ms: i64) -> String {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The normal form of an RFC 3339 date-time, or `None`.
pub fn normalize(s: &str) -> Option<String> {
    parse_rfc3339(s).map(format_millis)
}

/// Now, in the normal form.
pub fn now() -> String {
    format_millis(Timestamp::now().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            normalize("2024-03-01T10:00:00.5+02:00").as_deref(),
            Some("2024-03-01T08:00:00.500Z")
        );
        assert_eq!(
            normalize("2024-02-29t23:59:59.123456z").as_deref(),
            Some("2024-02-29T23:59:59.123Z")
        );
        assert_eq!(
            normalize("2000-01-01T00:30:00-01:00").as_deref(),
            Some("2000-01-01T01:30:00.000Z")
        );
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00+0200",
            "yesterday",
            "2024-01-01T00:00:00Z trailing",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            normalize("2016-12-31T23:59:60Z").as_deref(),
            Some("2016-12-31T23:59:59.000Z")
        );
        // every day of four centuries round-trips through the calendar arithmetic
        for days in -146_097..146_097 {
            let s = format_millis(days * 86_400_000 + 1);
            assert_eq!(parse_rfc3339(&s), Some(days * 86_400_000 + 1), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_string_panics(s in "\\PC*") {
            let _ = normalize(&s);
        }

        #[test]
        fn near_misses_do_not_panic(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62,
            se in 0u32..62, frac in "(\\.[0-9]{0,12})?", off in "(Z|z|[+-][0-9]{2}:?[0-9]{2}|)",
            sep in "[Tt _]",
        ) {
            let s = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{se:02}{frac}{off}");
            if let Some(ms) = parse_rfc3339(&s) {
                proptest::prop_assert_eq!(parse_rfc3339(&format_millis(ms)), Some(ms));
            }
        }

        #[test]
        fn every_millisecond_round_trips(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            proptest::prop_assert_eq!(parse_rfc3339(&format_millis(ms)), Some(ms));
        }
    }
}
