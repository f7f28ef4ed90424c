//! Schedules: `hourly`, `daily`, `weekly` and `cron`, each in an IANA time zone, with a
//! deterministic jitter. Every form is turned into one cron pattern evaluated by `croner` on
//! jiff's zoned times, so daylight-saving changes follow the zone's rules (a daily 02:30 in a
//! spring-forward gap runs at the first instant after it; in a repeated hour it runs once).

use std::fmt;

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A parsed schedule.
#[derive(Clone)]
pub struct Schedule {
    spec: ScheduleSpec,
    cron: Cron,
    tz: TimeZone,
}

/// A schedule as written (`kbridge.toml` `[schedules.JOB]`, the API's `schedule` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// `hourly`, `hourly :MM`, `daily HH:MM`, `weekly DAY HH:MM`, `cron M H DOM MON DOW`.
    pub every: String,
    /// IANA time zone (default `UTC`).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Up to this many seconds after the time.
    #[serde(default)]
    pub jitter_seconds: u32,
}

fn utc() -> String {
    "UTC".into()
}

/// A schedule that cannot be used, with what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {every:?}: {why}")]
pub struct ScheduleError {
    pub every: String,
    pub why: String,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.spec).finish()
    }
}

const FORMS: &str = "write `hourly`, `hourly :MM`, `daily HH:MM`, `weekly DAY HH:MM` (DAY mon…sun) or `cron MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK`";

fn hh_mm(s: &str) -> Option<(u8, u8)> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && !s.starts_with(':')).then_some((h, m))
}

impl Schedule {
    /// Parses and checks a schedule (its form, the cron pattern, the time zone).
    pub fn new(spec: ScheduleSpec) -> Result<Schedule, ScheduleError> {
        let err = |why: String| ScheduleError {
            every: spec.every.clone(),
            why,
        };
        let words: Vec<&str> = spec.every.split_whitespace().collect();
        let pattern = match words.as_slice() {
            ["hourly"] => "0 * * * *".to_string(),
            ["hourly", m] => {
                let m: u8 = m
                    .strip_prefix(':')
                    .and_then(|m| m.parse().ok())
                    .filter(|m| *m < 60)
                    .ok_or_else(|| err(format!("{m:?} is not a minute `:MM`; {FORMS}")))?;
                format!("{m} * * * *")
            }
            ["daily", t] => {
                let (h, m) = hh_mm(t).ok_or_else(|| err(format!("{t:?} is not HH:MM; {FORMS}")))?;
                format!("{m} {h} * * *")
            }
            ["weekly", d, t] => {
                let day = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
                    .iter()
                    .position(|x| d.eq_ignore_ascii_case(x))
                    .ok_or_else(|| err(format!("{d:?} is not a day (mon…sun); {FORMS}")))?;
                let (h, m) = hh_mm(t).ok_or_else(|| err(format!("{t:?} is not HH:MM; {FORMS}")))?;
                format!("{m} {h} * * {day}")
            }
            ["cron", rest @ ..] if rest.len() == 5 => rest.join(" "),
            ["cron", ..] => return Err(err(format!("a cron pattern has five fields; {FORMS}"))),
            _ => return Err(err(FORMS.to_string())),
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(&pattern)
            .map_err(|e| err(format!("{e}; {FORMS}")))?;
        let tz = TimeZone::get(&spec.time_zone).map_err(|_| ScheduleError {
            every: spec.every.clone(),
            why: format!(
                "the time zone {:?} is unknown: give an IANA name such as `UTC` or `Europe/Paris`",
                spec.time_zone
            ),
        })?;
        if spec.jitter_seconds > 86_400 {
            return Err(err("jitter_seconds is at most 86400 (a day)".into()));
        }
        Ok(Schedule { spec, cron, tz })
    }

    pub fn spec(&self) -> &ScheduleSpec {
        &self.spec
    }

    /// The first scheduled time strictly after `t` (without jitter), `None` if the pattern
    /// never matches again (e.g. `cron 0 0 31 2 *`).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let z = t.to_zoned(self.tz.clone());
        self.cron
            .find_next_occurrence(&z, false)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The latest scheduled time at or before `t`, if any within the search range.
    pub fn last_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        let z = t.to_zoned(self.tz.clone());
        self.cron
            .find_previous_occurrence(&z, true)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The jitter of job `job`'s run due at `due`: the same for the same job and time (a
    /// restart does not move it), spread over `0..=jitter_seconds`.
    pub fn jitter(&self, job: &str, due: Timestamp) -> SignedDuration {
        if self.spec.jitter_seconds == 0 {
            return SignedDuration::ZERO;
        }
        let mut h = Sha256::new();
        h.update(job.as_bytes());
        h.update(due.as_second().to_be_bytes());
        let d = h.finalize();
        let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        SignedDuration::from_secs((n % (u64::from(self.spec.jitter_seconds) + 1)) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(every: &str, tz: &str) -> Schedule {
        Schedule::new(ScheduleSpec {
            every: every.into(),
            time_zone: tz.into(),
            jitter_seconds: 0,
        })
        .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn forms() {
        let t = ts("2026-03-04T10:20:00Z"); // a Wednesday
        assert_eq!(
            s("hourly", "UTC").next_after(t),
            Some(ts("2026-03-04T11:00:00Z"))
        );
        assert_eq!(
            s("hourly :30", "UTC").next_after(t),
            Some(ts("2026-03-04T10:30:00Z"))
        );
        assert_eq!(
            s("daily 02:00", "UTC").next_after(t),
            Some(ts("2026-03-05T02:00:00Z"))
        );
        assert_eq!(
            s("weekly mon 09:15", "UTC").next_after(t),
            Some(ts("2026-03-09T09:15:00Z"))
        );
        assert_eq!(
            s("cron */15 * * * *", "UTC").next_after(t),
            Some(ts("2026-03-04T10:30:00Z"))
        );
        // strictly after: at the time itself, the next one
        assert_eq!(
            s("hourly", "UTC").next_after(ts("2026-03-04T11:00:00Z")),
            Some(ts("2026-03-04T12:00:00Z"))
        );
    }

    #[test]
    fn time_zone_and_daylight_saving() {
        let paris = s("daily 02:30", "Europe/Paris");
        // winter: UTC+1
        assert_eq!(
            paris.next_after(ts("2026-01-10T12:00:00Z")),
            Some(ts("2026-01-11T01:30:00Z"))
        );
        // summer: UTC+2
        assert_eq!(
            paris.next_after(ts("2026-07-10T12:00:00Z")),
            Some(ts("2026-07-11T00:30:00Z"))
        );
        // 2026-03-29 02:30 does not exist in Paris: the run is not lost, it is at 03:00 local
        let spring = paris.next_after(ts("2026-03-28T12:00:00Z")).unwrap();
        assert!(
            spring > ts("2026-03-28T12:00:00Z") && spring <= ts("2026-03-29T01:00:00Z"),
            "{spring}"
        );
        // 2026-10-25 02:30 happens twice: one run
        let first = paris.next_after(ts("2026-10-24T12:00:00Z")).unwrap();
        let second = paris.next_after(first).unwrap();
        assert!(second > ts("2026-10-25T23:00:00Z"), "{first} then {second}");
    }

    #[test]
    fn bad_schedules_say_what_to_write() {
        for (every, tz, needle) in [
            ("daily", "UTC", "daily HH:MM"),
            ("daily 25:00", "UTC", "not HH:MM"),
            ("weekly someday 10:00", "UTC", "not a day"),
            ("cron * * *", "UTC", "five fields"),
            ("cron 99 * * * *", "UTC", "cron"),
            ("daily 02:00", "Mars/Olympus", "time zone"),
            ("every minute", "UTC", "hourly"),
        ] {
            let e = Schedule::new(ScheduleSpec {
                every: every.into(),
                time_zone: tz.into(),
                jitter_seconds: 0,
            })
            .unwrap_err();
            assert!(e.to_string().contains(needle), "{every}: {e}");
        }
    }

    #[test]
    fn jitter_is_bounded_and_stable() {
        let j = Schedule::new(ScheduleSpec {
            every: "hourly".into(),
            time_zone: "UTC".into(),
            jitter_seconds: 300,
        })
        .unwrap();
        let due = ts("2026-03-04T11:00:00Z");
        let a = j.jitter("nightly", due);
        assert_eq!(a, j.jitter("nightly", due));
        let mut seen = std::collections::BTreeSet::new();
        for h in 0..48 {
            let d = j.jitter("nightly", due + SignedDuration::from_hours(h));
            assert!(d >= SignedDuration::ZERO && d <= SignedDuration::from_secs(300));
            seen.insert(d.as_secs());
        }
        assert!(seen.len() > 10, "spread: {seen:?}");
    }
}
