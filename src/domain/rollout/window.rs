//! Maintenance windows: when a rollout may open a pull request or merge.
//!
//! An environment lists windows such as `Tue-Thu 09:00-17:00` and
//! `Sat 02:00-04:00` and names an IANA time zone (`Europe/Berlin`, default
//! UTC). [`Windows`] answers whether an instant is inside a window, when the
//! next window opens and when the current one closes. No windows at all means
//! *always open*.
//!
//! Pure: no tokio, no clock (the instant to judge is always a parameter; this
//! module never calls `Utc::now()`), no I/O.
//!
//! # Grammar
//!
//! `DAYS HH:MM-HH:MM`, where `DAYS` is
//! - a day: `Mon` .. `Sun` or a full name (`Tuesday`), case-insensitive;
//! - a range `Tue-Thu`, which may wrap around the week end (`Fri-Mon`);
//! - a comma list `Mon,Wed,Fri` whose items may be ranges (`Mon,Wed-Fri`);
//! - `daily` or `*`: every day.
//!
//! Times run from `00:00` to `24:00` (`24:00` only as an end). An end at or
//! before the start means the window crosses midnight: `Sat 22:00-02:00` is
//! Saturday 22:00 to Sunday 02:00. A window's days are the days it *starts*
//! on. An empty window (`09:00-09:00`) is an error.
//!
//! # Time zones and daylight saving time
//!
//! Windows are local wall-clock times in the configured zone, converted to
//! real instants day by day:
//! - a local time that does not exist (skipped by a spring-forward change)
//!   moves forward to the first local time that exists: `Sun 02:00-04:00` in
//!   Europe/Berlin on 2026-03-29 runs from 03:00 CEST (01:00 UTC) to 04:00
//!   CEST, one real hour. A window lying wholly inside the skipped hour does
//!   not happen that day;
//! - a local time that exists twice (a fall-back change) means its earliest
//!   instant: `Sun 02:00-04:00` in Europe/Berlin on 2026-10-25 runs from
//!   02:00 CEST (00:00 UTC) to 04:00 CET (03:00 UTC), three real hours.
//!
//! Windows that overlap or touch (`Mon 20:00-24:00` and `Tue 00:00-06:00`)
//! form one open period: [`Windows::closes_at`] gives the end of the period.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Minutes in a day: the largest valid end time (`24:00`).
const DAY_MINUTES: u16 = 24 * 60;

/// Longest run of skipped local time searched forward past a daylight saving
/// (or date line) change: two days, far beyond any real transition.
const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

const DAY_NAMES: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];

const DAY_ABBREVIATIONS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const EXPECTED_SPEC: &str = "expected DAYS HH:MM-HH:MM, such as \"Tue-Thu 09:00-17:00\"";
const EXPECTED_TIME: &str = "expected HH:MM-HH:MM";

/// Why a window spec or time zone was rejected. Every message names the
/// offending text and what was expected instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The spec is not `DAYS HH:MM-HH:MM` at all.
    #[error("\"{spec}\": {EXPECTED_SPEC}")]
    Format { spec: String },
    /// The `DAYS` part names no day.
    #[error("\"{spec}\": invalid days \"{days}\": {reason}")]
    Days {
        spec: String,
        days: String,
        reason: String,
    },
    /// The `HH:MM-HH:MM` part is malformed or out of range.
    #[error("\"{spec}\": invalid time \"{time}\": {reason}")]
    Time {
        spec: String,
        time: String,
        reason: String,
    },
    /// Start and end are the same time.
    #[error(
        "\"{spec}\": empty window: it starts and ends at {time}; \
         expected an end different from the start (00:00-24:00 for a whole day)"
    )]
    Empty { spec: String, time: String },
    /// The time zone is not a known IANA name.
    #[error("unknown timezone \"{name}\": expected an IANA name such as Europe/Berlin")]
    Timezone { name: String },
}

/// One parsed window spec, such as `Tue-Thu 09:00-17:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Days the window starts on, Monday first.
    days: [bool; 7],
    /// Start, in minutes after local midnight: `0..1440`.
    start: u16,
    /// End, in minutes after local midnight: `1..=1440`, never equal to
    /// `start`. At or before `start`, it is on the next day.
    end: u16,
}

impl Window {
    /// Whether the window starts on `day`.
    pub fn runs_on(&self, day: chrono::Weekday) -> bool {
        self.days[day.num_days_from_monday() as usize]
    }

    /// Whether the window ends on the day after it starts.
    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Local start and end of the occurrence starting on `date`.
    fn local_bounds(&self, date: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        let start = midnight.checked_add_signed(TimeDelta::minutes(i64::from(self.start)))?;
        let mut end_minutes = i64::from(self.end);
        if self.crosses_midnight() {
            end_minutes += i64::from(DAY_MINUTES);
        }
        let end = midnight.checked_add_signed(TimeDelta::minutes(end_minutes))?;
        Some((start, end))
    }
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let format = || WindowError::Format {
            spec: spec.to_string(),
        };
        let trimmed = spec.trim();
        let (days_text, time_text) = trimmed
            .rsplit_once(char::is_whitespace)
            .ok_or_else(format)?;
        let days_text = days_text.trim();
        if days_text.is_empty() {
            return Err(format());
        }
        let days = parse_days(days_text).map_err(|reason| WindowError::Days {
            spec: spec.to_string(),
            days: days_text.to_string(),
            reason,
        })?;
        let time_error = |reason: &str| WindowError::Time {
            spec: spec.to_string(),
            time: time_text.to_string(),
            reason: reason.to_string(),
        };
        let (start_text, end_text) = time_text
            .split_once('-')
            .ok_or_else(|| time_error(EXPECTED_TIME))?;
        let start = parse_clock(start_text).map_err(time_error)?;
        let end = parse_clock(end_text).map_err(time_error)?;
        if start == DAY_MINUTES {
            return Err(time_error(
                "24:00 can only end a window; expected a start from 00:00 to 23:59",
            ));
        }
        if start == end {
            return Err(WindowError::Empty {
                spec: spec.to_string(),
                time: clock(start),
            });
        }
        // `22:00-00:00` and `22:00-24:00` are the same window.
        let end = if end == 0 { DAY_MINUTES } else { end };
        Ok(Window { days, start, end })
    }
}

/// Parses `DAYS`: a comma list of days and ranges, or `daily` / `*`.
fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("empty item: expected a day, a range such as Tue-Thu, a comma list such as Mon,Wed,Fri, or daily".to_string());
        }
        if item == "*" || item.eq_ignore_ascii_case("daily") {
            days = [true; 7];
        } else if let Some((first, last)) = item.split_once('-') {
            let first = parse_day(first.trim())?;
            let last = parse_day(last.trim())?;
            let mut day = first;
            loop {
                days[day] = true;
                if day == last {
                    break;
                }
                day = (day + 1) % 7;
            }
        } else {
            days[parse_day(item)?] = true;
        }
    }
    Ok(days)
}

/// Parses one day name to its index, Monday = 0.
fn parse_day(text: &str) -> Result<usize, String> {
    let lower = text.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|(short, long)| lower == *short || lower == *long)
        .ok_or_else(|| format!("unknown day \"{text}\": expected Mon..Sun (or a full name such as Tuesday), a range such as Tue-Thu, a comma list such as Mon,Wed,Fri, or daily"))
}

/// Parses `HH:MM` (hour of one or two digits) to minutes after midnight.
fn parse_clock(text: &str) -> Result<u16, &'static str> {
    let (hours, minutes) = text.split_once(':').ok_or(EXPECTED_TIME)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || hours.len() > 2 || !digits(minutes) || minutes.len() != 2 {
        return Err(EXPECTED_TIME);
    }
    let hours: u16 = hours.parse().map_err(|_| EXPECTED_TIME)?;
    let minutes: u16 = minutes.parse().map_err(|_| EXPECTED_TIME)?;
    let out_of_range = "expected HH:MM-HH:MM with times from 00:00 to 24:00 (minutes 00 to 59)";
    if minutes > 59 || hours > 24 || (hours == 24 && minutes != 0) {
        return Err(out_of_range);
    }
    Ok(hours * 60 + minutes)
}

/// Formats minutes after midnight as `HH:MM`.
fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl fmt::Display for Window {
    /// The canonical form: `daily` for every day, otherwise runs of
    /// consecutive days (`Mon-Wed`, wrapping as in `Fri-Mon`) in a comma
    /// list ordered by first day, then `HH:MM-HH:MM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days.iter().all(|d| *d) {
            f.write_str("daily")?;
        } else {
            let mut first = true;
            // A run starts on a set day whose predecessor is not set.
            let starts = (0..7).filter(|&d| self.days[d] && !self.days[(d + 6) % 7]);
            for start in starts {
                let mut last = start;
                while self.days[(last + 1) % 7] {
                    last = (last + 1) % 7;
                }
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                f.write_str(DAY_ABBREVIATIONS[start])?;
                if last != start {
                    write!(f, "-{}", DAY_ABBREVIATIONS[last])?;
                }
            }
        }
        write!(f, " {}-{}", clock(self.start), clock(self.end))
    }
}

/// The maintenance windows of one environment, in one time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    windows: Vec<Window>,
    tz: Tz,
}

impl Windows {
    /// Parses `specs` (see the [module docs](self)) in `timezone`, an IANA
    /// name; `None` or an empty name means UTC. No specs means always open.
    pub fn new(specs: &[String], timezone: Option<&str>) -> Result<Windows, WindowError> {
        let tz = match timezone.map(str::trim) {
            None | Some("") => Tz::UTC,
            Some(name) => name.parse::<Tz>().map_err(|_| WindowError::Timezone {
                name: name.to_string(),
            })?,
        };
        let windows = specs
            .iter()
            .map(|spec| spec.parse::<Window>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Windows { windows, tz })
    }

    /// No windows: always open.
    pub fn always() -> Windows {
        Windows {
            windows: Vec::new(),
            tz: Tz::UTC,
        }
    }

    /// Whether no windows are configured (always open). Windows that happen
    /// to cover the whole week (`daily 00:00-24:00`) are open at every
    /// instant too, but are not "always" in this sense.
    pub fn is_always(&self) -> bool {
        self.windows.is_empty()
    }

    /// The IANA name of the time zone the windows are in.
    pub fn timezone(&self) -> &str {
        self.tz.name()
    }

    /// The parsed windows, in configuration order.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// Whether `at` is inside a window (start inclusive, end exclusive).
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.is_always()
            || self
                .periods(at, 2, 0)
                .iter()
                .any(|(s, e)| *s <= at && at < *e)
    }

    /// `at` itself when open; otherwise the start of the next window. Always
    /// `Some` in practice: with no windows, `Some(at)`; `None` only if no
    /// window occurs in the two weeks after `at` (impossible for valid
    /// windows, short of the end of representable time).
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_always() {
            return Some(at);
        }
        self.periods(at, 2, 15)
            .into_iter()
            .find(|(_, end)| *end > at)
            .map(|(start, _)| start.max(at))
    }

    /// The end of the open period containing `at` (overlapping or touching
    /// windows count as one period). `None` when closed, when always open,
    /// and when the windows cover the whole week so that the period never
    /// ends.
    pub fn closes_at(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_always() {
            return None;
        }
        let (start, end) = self
            .periods(at, 2, 15)
            .into_iter()
            .find(|(s, e)| *s <= at && at < *e)?;
        // A period of a week or more covers every local time: it never ends.
        (end - start < TimeDelta::days(7)).then_some(end)
    }

    /// Open periods of the windows starting on the local days from `before`
    /// days before the local date of `at` to `after` days after it, as UTC
    /// `[start, end)` intervals, sorted, overlapping and touching ones merged.
    fn periods(
        &self,
        at: DateTime<Utc>,
        before: u64,
        after: u64,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let today = at.with_timezone(&self.tz).date_naive();
        let mut intervals = Vec::new();
        let Some(first) = today.checked_sub_days(chrono::Days::new(before)) else {
            return intervals;
        };
        for date in first.iter_days().take((before + after + 1) as usize) {
            let weekday = date.weekday().num_days_from_monday() as usize;
            for window in self.windows.iter().filter(|w| w.days[weekday]) {
                let Some((start, end)) = window.local_bounds(date) else {
                    continue;
                };
                if let (Some(start), Some(end)) = (self.instant(start), self.instant(end))
                    && start < end
                {
                    intervals.push((start, end));
                }
            }
        }
        intervals.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// The instant of a local time: the earliest one when it is ambiguous,
    /// the first local time that exists after it when it was skipped.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        for step in 0..=MAX_GAP_MINUTES {
            let candidate = local.checked_add_signed(TimeDelta::minutes(step))?;
            match self.tz.from_local_datetime(&candidate) {
                LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(a, b) => {
                    return Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc)));
                }
                LocalResult::None => {}
            }
        }
        None
    }
}

impl fmt::Display for Windows {
    /// `always`, or the canonical windows joined by `, ` and the time zone
    /// in parentheses: `Tue-Thu 09:00-17:00, Sat 02:00-04:00 (Europe/Berlin)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_always() {
            return f.write_str("always");
        }
        for (i, window) in self.windows.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{window}")?;
        }
        write!(f, " ({})", self.tz.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Timelike, Weekday};
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn windows(specs: &[&str], tz: Option<&str>) -> Windows {
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        Windows::new(&specs, tz).unwrap()
    }

    fn window(spec: &str) -> Window {
        spec.parse().unwrap()
    }

    fn error(spec: &str) -> String {
        spec.parse::<Window>().unwrap_err().to_string()
    }

    fn days_of(w: &Window) -> Vec<Weekday> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .filter(|d| w.runs_on(*d))
        .collect()
    }

    #[test]
    fn dates_used_below_are_the_weekdays_assumed() {
        use chrono::NaiveDate;
        let weekday = |s: &str| s.parse::<NaiveDate>().unwrap().weekday();
        assert_eq!(weekday("2026-06-01"), Weekday::Mon);
        for sunday in ["2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"] {
            assert_eq!(weekday(sunday), Weekday::Sun, "{sunday}");
        }
    }

    #[test]
    fn parses_every_day_form() {
        use Weekday::*;
        let cases: &[(&str, &[Weekday], &str)] = &[
            ("Tue 09:00-17:00", &[Tue], "Tue 09:00-17:00"),
            ("tue 09:00-17:00", &[Tue], "Tue 09:00-17:00"),
            ("TUESDAY 9:00-17:00", &[Tue], "Tue 09:00-17:00"),
            ("Wednesday 09:00-17:00", &[Wed], "Wed 09:00-17:00"),
            (
                "Tue-Thu 09:00-17:00",
                &[Tue, Wed, Thu],
                "Tue-Thu 09:00-17:00",
            ),
            (
                "Fri-Mon 09:00-17:00",
                &[Mon, Fri, Sat, Sun],
                "Fri-Mon 09:00-17:00",
            ),
            (
                "Mon,Wed,Fri 09:00-17:00",
                &[Mon, Wed, Fri],
                "Mon,Wed,Fri 09:00-17:00",
            ),
            (
                "Mon, Wed-Fri 09:00-17:00",
                &[Mon, Wed, Thu, Fri],
                "Mon,Wed-Fri 09:00-17:00",
            ),
            (
                "Mon,Tue,Wed 09:00-17:00",
                &[Mon, Tue, Wed],
                "Mon-Wed 09:00-17:00",
            ),
            ("Sun,Mon 09:00-17:00", &[Mon, Sun], "Sun-Mon 09:00-17:00"),
            (
                "Fri-Mon,Wed 09:00-17:00",
                &[Mon, Wed, Fri, Sat, Sun],
                "Wed,Fri-Mon 09:00-17:00",
            ),
            ("Mon-Mon 09:00-17:00", &[Mon], "Mon 09:00-17:00"),
            (
                "daily 02:00-04:00",
                &[Mon, Tue, Wed, Thu, Fri, Sat, Sun],
                "daily 02:00-04:00",
            ),
            (
                "Daily 02:00-04:00",
                &[Mon, Tue, Wed, Thu, Fri, Sat, Sun],
                "daily 02:00-04:00",
            ),
            (
                "* 02:00-04:00",
                &[Mon, Tue, Wed, Thu, Fri, Sat, Sun],
                "daily 02:00-04:00",
            ),
            (
                "Mon-Sun 02:00-04:00",
                &[Mon, Tue, Wed, Thu, Fri, Sat, Sun],
                "daily 02:00-04:00",
            ),
            ("  Sat   02:00-04:00  ", &[Sat], "Sat 02:00-04:00"),
        ];
        for (spec, days, canonical) in cases {
            let w = window(spec);
            assert_eq!(days_of(&w), *days, "{spec}");
            assert_eq!(w.to_string(), *canonical, "{spec}");
            assert_eq!(window(canonical), w, "{canonical} round trip");
            assert!(!w.crosses_midnight(), "{spec}");
        }
    }

    #[test]
    fn parses_times_up_to_24_00_and_across_midnight() {
        let w = window("Sat 22:00-02:00");
        assert!(w.crosses_midnight());
        assert_eq!(w.to_string(), "Sat 22:00-02:00");
        let w = window("Mon 00:00-24:00");
        assert!(!w.crosses_midnight());
        assert_eq!(w.to_string(), "Mon 00:00-24:00");
        // An end at midnight is the same window as one ending at 24:00.
        assert_eq!(window("Mon 22:00-00:00"), window("Mon 22:00-24:00"));
        assert_eq!(window("Mon 22:00-00:00").to_string(), "Mon 22:00-24:00");
        assert_eq!(window("Mon 23:59-00:01").to_string(), "Mon 23:59-00:01");
        assert_eq!(window("Mon 09:00-08:59").to_string(), "Mon 09:00-08:59");
    }

    #[test]
    fn rejects_garbage_with_clear_messages() {
        let cases = [
            (
                "Tue-Thu 9-17",
                r#""Tue-Thu 9-17": invalid time "9-17": expected HH:MM-HH:MM"#,
            ),
            (
                "09:00-17:00",
                r#""09:00-17:00": expected DAYS HH:MM-HH:MM, such as "Tue-Thu 09:00-17:00""#,
            ),
            (
                "",
                r#""": expected DAYS HH:MM-HH:MM, such as "Tue-Thu 09:00-17:00""#,
            ),
            (
                "Mo 09:00-17:00",
                r#""Mo 09:00-17:00": invalid days "Mo": unknown day "Mo": expected Mon..Sun (or a full name such as Tuesday), a range such as Tue-Thu, a comma list such as Mon,Wed,Fri, or daily"#,
            ),
            (
                "Mon,,Wed 09:00-17:00",
                r#""Mon,,Wed 09:00-17:00": invalid days "Mon,,Wed": empty item: expected a day, a range such as Tue-Thu, a comma list such as Mon,Wed,Fri, or daily"#,
            ),
            (
                "Mon-Fr 09:00-17:00",
                r#""Mon-Fr 09:00-17:00": invalid days "Mon-Fr": unknown day "Fr": expected Mon..Sun (or a full name such as Tuesday), a range such as Tue-Thu, a comma list such as Mon,Wed,Fri, or daily"#,
            ),
            (
                "Mon 09:00",
                r#""Mon 09:00": invalid time "09:00": expected HH:MM-HH:MM"#,
            ),
            (
                "Mon 09:00-5pm",
                r#""Mon 09:00-5pm": invalid time "09:00-5pm": expected HH:MM-HH:MM"#,
            ),
            (
                "Mon 09:0-17:00",
                r#""Mon 09:0-17:00": invalid time "09:0-17:00": expected HH:MM-HH:MM"#,
            ),
            (
                "Mon 25:00-26:00",
                r#""Mon 25:00-26:00": invalid time "25:00-26:00": expected HH:MM-HH:MM with times from 00:00 to 24:00 (minutes 00 to 59)"#,
            ),
            (
                "Mon 09:60-10:00",
                r#""Mon 09:60-10:00": invalid time "09:60-10:00": expected HH:MM-HH:MM with times from 00:00 to 24:00 (minutes 00 to 59)"#,
            ),
            (
                "Mon 22:00-24:30",
                r#""Mon 22:00-24:30": invalid time "22:00-24:30": expected HH:MM-HH:MM with times from 00:00 to 24:00 (minutes 00 to 59)"#,
            ),
            (
                "Mon 24:00-02:00",
                r#""Mon 24:00-02:00": invalid time "24:00-02:00": 24:00 can only end a window; expected a start from 00:00 to 23:59"#,
            ),
            (
                "Mon 09:00-09:00",
                r#""Mon 09:00-09:00": empty window: it starts and ends at 09:00; expected an end different from the start (00:00-24:00 for a whole day)"#,
            ),
            (
                "Mon 00:00-00:00",
                r#""Mon 00:00-00:00": empty window: it starts and ends at 00:00; expected an end different from the start (00:00-24:00 for a whole day)"#,
            ),
        ];
        for (spec, message) in cases {
            assert_eq!(error(spec), message, "{spec}");
        }
        let specs = vec!["Tue-Thu 09:00-17:00".to_string()];
        assert_eq!(
            Windows::new(&specs, Some("Europe/Berln"))
                .unwrap_err()
                .to_string(),
            r#"unknown timezone "Europe/Berln": expected an IANA name such as Europe/Berlin"#
        );
        let specs = vec!["Tue 09:00-17:00".to_string(), "Sat 2-4".to_string()];
        assert!(matches!(
            Windows::new(&specs, None),
            Err(WindowError::Time { spec, .. }) if spec == "Sat 2-4"
        ));
    }

    #[test]
    fn time_zone_defaults_to_utc() {
        assert_eq!(windows(&["daily 02:00-04:00"], None).timezone(), "UTC");
        assert_eq!(windows(&["daily 02:00-04:00"], Some("")).timezone(), "UTC");
        assert_eq!(
            windows(&["daily 02:00-04:00"], Some("Europe/Berlin")).timezone(),
            "Europe/Berlin"
        );
        assert_eq!(Windows::always().timezone(), "UTC");
    }

    #[test]
    fn no_windows_is_always_open() {
        let at = utc("2026-06-01T12:34:56Z");
        for w in [Windows::always(), windows(&[], Some("Europe/Berlin"))] {
            assert!(w.is_always());
            assert!(w.is_open(at));
            assert_eq!(w.next_open(at), Some(at));
            assert_eq!(w.closes_at(at), None);
        }
        assert_eq!(Windows::always().to_string(), "always");
    }

    #[test]
    fn weekday_window_in_utc() {
        let w = windows(&["Tue-Thu 09:00-17:00"], None);
        assert!(!w.is_always());
        // Monday noon: closed until Tuesday 09:00.
        let monday = utc("2026-06-01T12:00:00Z");
        assert!(!w.is_open(monday));
        assert_eq!(w.next_open(monday), Some(utc("2026-06-02T09:00:00Z")));
        assert_eq!(w.closes_at(monday), None);
        // Start inclusive, end exclusive.
        assert!(!w.is_open(utc("2026-06-02T08:59:59Z")));
        let start = utc("2026-06-02T09:00:00Z");
        assert!(w.is_open(start));
        assert_eq!(w.next_open(start), Some(start));
        assert_eq!(w.closes_at(start), Some(utc("2026-06-02T17:00:00Z")));
        let inside = utc("2026-06-03T16:59:59Z");
        assert!(w.is_open(inside));
        assert_eq!(w.next_open(inside), Some(inside));
        assert_eq!(w.closes_at(inside), Some(utc("2026-06-03T17:00:00Z")));
        let end = utc("2026-06-02T17:00:00Z");
        assert!(!w.is_open(end));
        assert_eq!(w.next_open(end), Some(utc("2026-06-03T09:00:00Z")));
        // After the week's last window: next Tuesday.
        let thursday_end = utc("2026-06-04T17:00:00Z");
        assert_eq!(w.next_open(thursday_end), Some(utc("2026-06-09T09:00:00Z")));
        let saturday = utc("2026-06-06T03:00:00Z");
        assert!(!w.is_open(saturday));
        assert_eq!(w.next_open(saturday), Some(utc("2026-06-09T09:00:00Z")));
        assert_eq!(w.to_string(), "Tue-Thu 09:00-17:00 (UTC)");
    }

    #[test]
    fn window_crossing_midnight() {
        let w = windows(&["Sat 22:00-02:00"], None);
        assert!(!w.is_open(utc("2026-06-05T23:00:00Z")), "Friday night");
        assert!(!w.is_open(utc("2026-06-06T21:59:00Z")));
        let saturday_night = utc("2026-06-06T23:00:00Z");
        assert!(w.is_open(saturday_night));
        assert_eq!(
            w.closes_at(saturday_night),
            Some(utc("2026-06-07T02:00:00Z"))
        );
        let sunday_morning = utc("2026-06-07T01:59:59Z");
        assert!(w.is_open(sunday_morning));
        assert_eq!(
            w.closes_at(sunday_morning),
            Some(utc("2026-06-07T02:00:00Z"))
        );
        let closed = utc("2026-06-07T02:00:00Z");
        assert!(!w.is_open(closed));
        assert_eq!(w.next_open(closed), Some(utc("2026-06-13T22:00:00Z")));
        assert_eq!(
            w.next_open(utc("2026-06-01T00:00:00Z")),
            Some(utc("2026-06-06T22:00:00Z"))
        );
        // Crossing from Sunday into Monday, the week's end.
        let w = windows(&["Sun 22:00-02:00"], None);
        assert!(w.is_open(utc("2026-06-08T01:00:00Z")));
        assert!(!w.is_open(utc("2026-06-09T01:00:00Z")));
    }

    #[test]
    fn daily_windows() {
        let w = windows(&["daily 02:00-04:00"], None);
        for day in 1..=7 {
            let at = utc(&format!("2026-06-0{day}T03:00:00Z"));
            assert!(w.is_open(at));
            assert_eq!(w.closes_at(at), Some(at.with_hour(4).unwrap()));
        }
        assert_eq!(
            w.next_open(utc("2026-06-01T04:00:00Z")),
            Some(utc("2026-06-02T02:00:00Z"))
        );

        // A whole week of open time never closes.
        let w = windows(&["* 00:00-24:00"], Some("Europe/Berlin"));
        assert!(!w.is_always());
        for at in [
            "2026-06-01T00:00:00Z",
            "2026-03-29T01:30:00Z",
            "2026-10-25T00:30:00Z",
        ] {
            let at = utc(at);
            assert!(w.is_open(at));
            assert_eq!(w.next_open(at), Some(at));
            assert_eq!(w.closes_at(at), None);
        }
    }

    #[test]
    fn several_windows() {
        let w = windows(&["Tue-Thu 09:00-17:00", "Sat 02:00-04:00"], None);
        assert_eq!(w.windows().len(), 2);
        assert_eq!(
            w.next_open(utc("2026-06-04T18:00:00Z")),
            Some(utc("2026-06-06T02:00:00Z"))
        );
        assert!(w.is_open(utc("2026-06-06T02:30:00Z")));
        assert_eq!(
            w.closes_at(utc("2026-06-06T02:30:00Z")),
            Some(utc("2026-06-06T04:00:00Z"))
        );
        assert_eq!(
            w.next_open(utc("2026-06-06T04:00:00Z")),
            Some(utc("2026-06-09T09:00:00Z"))
        );
        assert_eq!(
            w.next_open(utc("2026-06-01T10:00:00Z")),
            Some(utc("2026-06-02T09:00:00Z"))
        );
        assert_eq!(w.to_string(), "Tue-Thu 09:00-17:00, Sat 02:00-04:00 (UTC)");

        // Touching and overlapping windows are one open period.
        let w = windows(
            &["Mon 20:00-24:00", "Tue 00:00-06:00", "Tue 05:00-07:00"],
            None,
        );
        assert_eq!(
            w.closes_at(utc("2026-06-01T21:00:00Z")),
            Some(utc("2026-06-02T07:00:00Z"))
        );
        assert!(w.is_open(utc("2026-06-02T00:00:00Z")));
    }

    #[test]
    fn berlin_weekday_window_is_eight_real_hours_either_side_of_dst() {
        let w = windows(&["Tue-Thu 09:00-17:00"], Some("Europe/Berlin"));
        // CET (UTC+1) before 2026-03-29, CEST (UTC+2) after.
        assert_eq!(
            w.next_open(utc("2026-03-23T12:00:00Z")),
            Some(utc("2026-03-24T08:00:00Z"))
        );
        assert_eq!(
            w.closes_at(utc("2026-03-24T08:00:00Z")),
            Some(utc("2026-03-24T16:00:00Z"))
        );
        assert_eq!(
            w.next_open(utc("2026-03-30T12:00:00Z")),
            Some(utc("2026-03-31T07:00:00Z"))
        );
        assert_eq!(
            w.closes_at(utc("2026-03-31T07:00:00Z")),
            Some(utc("2026-03-31T15:00:00Z"))
        );
    }

    #[test]
    fn berlin_spring_forward_starts_at_the_first_existing_instant() {
        let w = windows(&["Sun 02:00-04:00"], Some("Europe/Berlin"));
        // The week before: 02:00 CET = 01:00 UTC, two real hours.
        assert_eq!(
            w.next_open(utc("2026-03-21T12:00:00Z")),
            Some(utc("2026-03-22T01:00:00Z"))
        );
        assert_eq!(
            w.closes_at(utc("2026-03-22T01:00:00Z")),
            Some(utc("2026-03-22T03:00:00Z"))
        );
        // 2026-03-29: 02:00 does not exist; the window starts at 03:00 CEST.
        let saturday = utc("2026-03-28T12:00:00Z");
        assert_eq!(w.next_open(saturday), Some(utc("2026-03-29T01:00:00Z")));
        assert!(!w.is_open(utc("2026-03-29T00:59:59Z")));
        assert!(w.is_open(utc("2026-03-29T01:00:00Z")));
        assert_eq!(
            w.closes_at(utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-29T02:00:00Z"))
        );
        assert!(!w.is_open(utc("2026-03-29T02:00:00Z")));
        // The week after: 02:00 CEST = 00:00 UTC.
        assert_eq!(
            w.next_open(utc("2026-03-29T02:00:00Z")),
            Some(utc("2026-04-05T00:00:00Z"))
        );

        // A window wholly inside the skipped hour does not happen that day.
        let w = windows(&["Sun 02:00-02:30"], Some("Europe/Berlin"));
        assert_eq!(w.next_open(saturday), Some(utc("2026-04-05T00:00:00Z")));
    }

    #[test]
    fn berlin_fall_back_resolves_to_the_earliest_instant() {
        let w = windows(&["Sun 02:00-04:00"], Some("Europe/Berlin"));
        // 2026-10-25: 03:00 CEST becomes 02:00 CET. 02:00 CEST = 00:00 UTC,
        // 04:00 CET = 03:00 UTC: three real hours.
        let saturday = utc("2026-10-24T12:00:00Z");
        assert_eq!(w.next_open(saturday), Some(utc("2026-10-25T00:00:00Z")));
        assert_eq!(
            w.closes_at(utc("2026-10-25T00:00:00Z")),
            Some(utc("2026-10-25T03:00:00Z"))
        );
        assert!(w.is_open(utc("2026-10-25T02:59:59Z")));
        assert!(!w.is_open(utc("2026-10-25T03:00:00Z")));
        // The week after: 02:00 CET = 01:00 UTC.
        assert_eq!(
            w.next_open(utc("2026-10-25T03:00:00Z")),
            Some(utc("2026-11-01T01:00:00Z"))
        );
    }

    #[test]
    fn new_york_dst_changes() {
        let w = windows(&["Sun 01:30-02:30"], Some("America/New_York"));
        // 2026-03-08: 02:00 EST becomes 03:00 EDT. Start 01:30 EST = 06:30
        // UTC; 02:30 does not exist, so the end is 03:00 EDT = 07:00 UTC.
        let at = w.next_open(utc("2026-03-07T12:00:00Z")).unwrap();
        assert_eq!(at, utc("2026-03-08T06:30:00Z"));
        assert_eq!(w.closes_at(at), Some(utc("2026-03-08T07:00:00Z")));
        // A summer Sunday: 01:30 EDT = 05:30 UTC, one hour.
        let at = w.next_open(utc("2026-06-06T12:00:00Z")).unwrap();
        assert_eq!(at, utc("2026-06-07T05:30:00Z"));
        assert_eq!(w.closes_at(at), Some(utc("2026-06-07T06:30:00Z")));
        // 2026-11-01: 02:00 EDT becomes 01:00 EST. 01:30 is ambiguous: the
        // earliest is 01:30 EDT = 05:30 UTC; 02:30 EST = 07:30 UTC.
        let at = w.next_open(utc("2026-10-31T12:00:00Z")).unwrap();
        assert_eq!(at, utc("2026-11-01T05:30:00Z"));
        assert_eq!(w.closes_at(at), Some(utc("2026-11-01T07:30:00Z")));
        // A winter Sunday: 01:30 EST = 06:30 UTC.
        assert_eq!(
            w.next_open(utc("2026-11-01T07:30:00Z")),
            Some(utc("2026-11-08T06:30:00Z"))
        );
    }

    const ZONES: [&str; 7] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/Sao_Paulo",
    ];

    fn any_window() -> impl Strategy<Value = Window> {
        (1u8..128, 0..DAY_MINUTES, 1..=DAY_MINUTES)
            .prop_filter("empty window", |(_, start, end)| start != end)
            .prop_map(|(mask, start, end)| Window {
                days: std::array::from_fn(|i| mask & (1 << i) != 0),
                start,
                end,
            })
    }

    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Daylight saving changes of the zones above in 2026 (about midnight
        // UTC of the day), so that half the instants fall within three days
        // of one.
        const CHANGES: [&str; 8] = [
            "2026-03-08T00:00:00Z", // America/New_York
            "2026-03-29T00:00:00Z", // Europe/Berlin
            "2026-04-05T00:00:00Z", // Australia/Lord_Howe, Pacific/Chatham
            "2026-09-27T00:00:00Z", // Pacific/Chatham
            "2026-10-04T00:00:00Z", // Australia/Lord_Howe
            "2026-10-25T00:00:00Z", // Europe/Berlin
            "2026-11-01T00:00:00Z", // America/New_York
            "2026-12-31T00:00:00Z", // none: a year end
        ];
        prop_oneof![
            // 2020-01-01 to 2035-01-01, at one-second resolution.
            (1_577_836_800i64..2_051_222_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
            (
                prop::sample::select(&CHANGES[..]),
                -3 * 86_400i64..3 * 86_400
            )
                .prop_map(|(change, offset)| utc(change) + TimeDelta::seconds(offset)),
        ]
    }

    /// Up to 300 instants strictly between `from` and `to`, evenly spread,
    /// one minute apart at most.
    fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
        let span = (to - from).num_seconds();
        let samples = (span / 60).clamp(0, 300);
        (1..=samples).map(move |k| from + TimeDelta::seconds(span * k / (samples + 1)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn canonical_form_round_trips(w in any_window()) {
            let text = w.to_string();
            prop_assert_eq!(text.parse::<Window>(), Ok(w), "{}", text);
        }

        #[test]
        fn next_open_is_the_first_open_instant(
            at in any_instant(),
            ws in prop::collection::vec(any_window(), 1..=3),
            zone in prop::sample::select(&ZONES[..]),
        ) {
            let specs: Vec<String> = ws.iter().map(Window::to_string).collect();
            let w = Windows::new(&specs, Some(zone)).unwrap();
            let next = w.next_open(at).expect("some window within two weeks");
            prop_assert!(next >= at);
            prop_assert!(next - at <= TimeDelta::days(15), "{} -> {}", at, next);
            prop_assert!(w.is_open(next));
            prop_assert_eq!(w.is_open(at), next == at);
            for t in between(at, next) {
                prop_assert!(!w.is_open(t), "open at {} before next_open {} (from {})", t, next, at);
            }
            if let Some(close) = w.closes_at(next) {
                prop_assert!(close > next);
                prop_assert!(!w.is_open(close));
                for t in between(next, close) {
                    prop_assert!(w.is_open(t), "closed at {} before closes_at {}", t, close);
                }
            }
        }

        #[test]
        fn utc_windows_match_wall_clock_arithmetic(
            at in any_instant(),
            window in any_window(),
        ) {
            let w = Windows::new(&[window.to_string()], None).unwrap();
            let minute = |t: DateTime<Utc>| (t.hour() * 60 + t.minute()) as u16;
            let today = window.runs_on(at.weekday()) && {
                let m = minute(at);
                if window.crosses_midnight() { m >= window.start } else { m >= window.start && m < window.end }
            };
            let yesterday = (at - TimeDelta::days(1)).weekday();
            let from_yesterday = window.crosses_midnight() && window.runs_on(yesterday) && minute(at) < window.end;
            prop_assert_eq!(w.is_open(at), today || from_yesterday);
        }
    }
}
