//! Job schedules: `hourly`, `daily HH:MM`, `weekly DAY HH:MM`, or five-field cron
//! (`minute hour day-of-month month day-of-week`, with `*`, lists, ranges and steps), in UTC.

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: Vec<u32>,
    months: Vec<u32>,
    weekdays: Vec<u32>,
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    /// Parses a schedule; the error says what is wrong and what is accepted.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let hm = |t: &str| -> Result<(u32, u32), String> {
            let (h, m) = t
                .split_once(':')
                .ok_or_else(|| format!("{t:?} is not a time: use HH:MM"))?;
            let h: u32 = h.parse().map_err(|_| format!("{t:?}: bad hour"))?;
            let m: u32 = m.parse().map_err(|_| format!("{t:?}: bad minute"))?;
            if h > 23 || m > 59 {
                return Err(format!("{t:?} is not a time of day"));
            }
            Ok((h, m))
        };
        let all = |lo: u32, hi: u32| (lo..=hi).collect::<Vec<_>>();
        match words.as_slice() {
            ["hourly"] => Ok(Schedule {
                minutes: vec![0],
                hours: all(0, 23),
                days: all(1, 31),
                months: all(1, 12),
                weekdays: all(0, 6),
            }),
            ["daily", t] => {
                let (h, m) = hm(t)?;
                Ok(Schedule {
                    minutes: vec![m],
                    hours: vec![h],
                    days: all(1, 31),
                    months: all(1, 12),
                    weekdays: all(0, 6),
                })
            }
            ["weekly", d, t] => {
                let wd = DAYS
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(&d[..d.len().min(3)]))
                    .ok_or_else(|| format!("{d:?} is not a day: use mon, tue, …"))?;
                let (h, m) = hm(t)?;
                Ok(Schedule {
                    minutes: vec![m],
                    hours: vec![h],
                    days: all(1, 31),
                    months: all(1, 12),
                    weekdays: vec![wd as u32],
                })
            }
            [mi, h, dom, mo, dow] => Ok(Schedule {
                minutes: field(mi, 0, 59)?,
                hours: field(h, 0, 23)?,
                days: field(dom, 1, 31)?,
                months: field(mo, 1, 12)?,
                weekdays: field(dow, 0, 6)?,
            }),
            _ => Err(format!(
                "{s:?} is not a schedule: use \"hourly\", \"daily 02:00\", \"weekly mon 03:00\" or a five-field cron expression"
            )),
        }
    }

    /// The first minute strictly after `after_ms` (epoch ms, UTC) that the schedule names, or
    /// `None` if none within four years (e.g. February 30).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = after_ms.div_euclid(60_000) + 1;
        for minute in start..start + 4 * 366 * 24 * 60 {
            let (mo, d, wd, h, mi) = civil(minute);
            if self.minutes.contains(&mi)
                && self.hours.contains(&h)
                && self.days.contains(&d)
                && self.months.contains(&mo)
                && self.weekdays.contains(&wd)
            {
                return Some(minute * 60_000);
            }
        }
        None
    }
}

fn field(f: &str, lo: u32, hi: u32) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in f.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{part:?}: bad step"))?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (num(a, lo, hi)?, num(b, lo, hi)?)
        } else {
            let a = num(range, lo, hi)?;
            (a, if step > 1 { hi } else { a })
        };
        if a > b {
            return Err(format!("{part:?}: empty range"));
        }
        out.extend((a..=b).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn num(s: &str, lo: u32, hi: u32) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if n < lo || n > hi {
        return Err(format!("{n} is outside {lo}–{hi}"));
    }
    Ok(n)
}

/// (month 1–12, day 1–31, weekday 0=Sunday, hour, minute) of an epoch minute.
fn civil(minute: i64) -> (u32, u32, u32, u32, u32) {
    let days = minute.div_euclid(1440);
    let rem = minute.rem_euclid(1440);
    let (h, mi) = ((rem / 60) as u32, (rem % 60) as u32);
    let wd = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let _ = era;
    (m, d, wd, h, mi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_name_the_next_minute() {
        // 2026-12-07T13:55:00Z is a Monday.
        let t = kb_store::time::parse_rfc3339("2026-12-07T13:55:00Z").unwrap_or(0);
        let at = |s: &str| {
            kb_store::time::format_millis(
                Schedule::parse(s)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .next_after(t)
                    .unwrap_or(0),
            )
        };
        assert_eq!(at("hourly"), "2026-12-07T14:00:00.000Z");
        assert_eq!(at("daily 02:00"), "2026-12-08T02:00:00.000Z");
        assert_eq!(at("weekly mon 03:00"), "2026-12-14T03:00:00.000Z");
        assert_eq!(at("weekly tue 03:00"), "2026-12-08T03:00:00.000Z");
        assert_eq!(at("*/15 * * * *"), "2026-12-07T14:00:00.000Z");
        assert_eq!(at("30 9 1 * *"), "2027-01-01T09:30:00.000Z");
        for bad in [
            "daily",
            "daily 25:00",
            "weekly xyz 03:00",
            "61 * * * *",
            "every day",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
