//! Time expressions in release-note sentences: calendar dates and times in
//! the many ways notes write them (`2025-12-03 21:49:11 UTC`,
//! `May 7, 2025, 10:05:11am UTC`, `Wednesday, 1 October 2025 08:48:00 UTC`,
//! `Wed May 07 10:05:11 2025 UTC`, `December 3rd, 2025`, `13th of March`,
//! `30 Jan`), unix timestamps next to the word `timestamp`, `unix` or `time`,
//! and beacon-chain epochs and slots (`epoch 411,392`, `slot: 3710976`).
//!
//! Dates without a year stay partial; converting an expression to an
//! absolute time needs a network (epochs, slots) or the fork schedule
//! (partial dates) and is done by the fork detector. Pure; linear in the
//! input; never panics.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de;

/// An RFC 3339 instant in a rule file (`2025-12-03T21:49:11Z`), with an
/// error that says what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant(pub DateTime<Utc>);

impl<'de> de::Deserialize<'de> for Instant {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as de::Deserialize>::deserialize(d)?;
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Instant(t.with_timezone(&Utc)))
            .map_err(|_| {
                de::Error::custom(format!(
                    "invalid date-time {s:?}: expected RFC 3339 such as 2025-12-03T21:49:11Z"
                ))
            })
    }
}

/// A calendar date, the year possibly unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialDate {
    pub year: Option<i32>,
    pub month: u32,
    pub day: u32,
}

/// A time of day, seconds possibly unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    pub hour: u32,
    pub minute: u32,
    pub second: Option<u32>,
}

/// What a time expression says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeKind {
    /// Unix seconds.
    Unix(i64),
    /// A beacon-chain epoch.
    Epoch(u64),
    /// A beacon-chain slot.
    Slot(u64),
    /// A date, with a time of day when one was written (taken as UTC).
    Calendar {
        date: PartialDate,
        time: Option<TimeOfDay>,
    },
}

/// A time expression and where it is in the sentence (byte offsets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeExpr {
    pub start: usize,
    pub end: usize,
    pub kind: TimeKind,
}

impl TimeExpr {
    /// The instant, when the expression alone determines it: a unix
    /// timestamp, or a date with year and a time with seconds.
    pub fn exact(&self) -> Option<DateTime<Utc>> {
        match self.kind {
            TimeKind::Unix(t) => DateTime::from_timestamp(t, 0),
            TimeKind::Calendar {
                date:
                    PartialDate {
                        year: Some(y),
                        month,
                        day,
                    },
                time:
                    Some(TimeOfDay {
                        hour,
                        minute,
                        second: Some(s),
                    }),
            } => NaiveDate::from_ymd_opt(y, month, day)?
                .and_hms_opt(hour, minute, s)
                .map(|t| t.and_utc()),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    /// A number; `digits` counts the digits written (commas excluded).
    Num {
        value: u64,
        digits: usize,
        ordinal: bool,
    },
    Time(TimeOfDay, Option<bool>),
    IsoDate(PartialDate, Option<TimeOfDay>),
    Punct(char),
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn month(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            *m == w || (w.len() >= 3 && m.starts_with(w) && (w.len() == 3 || w == "sept"))
        })
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn weekday(word: &str) -> bool {
    WEEKDAYS
        .iter()
        .any(|d| *d == word || (word.len() == 3 && d.starts_with(word)))
        || matches!(word, "tues" | "thur" | "thurs")
}

/// A month or weekday name (or abbreviation), lower case.
pub fn is_calendar_word(word: &str) -> bool {
    month(word).is_some() || weekday(word)
}

fn tokenize(s: &str) -> Vec<Token> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let start = i;
            if let Some((tok, end)) = iso_date(s, i) {
                out.push(Token { tok, start, end });
                i = end;
                continue;
            }
            if let Some((tok, end)) = clock(s, i) {
                out.push(Token { tok, start, end });
                i = end;
                continue;
            }
            // number with optional thousands separators (411,392)
            let mut value: u64 = 0;
            let mut digits = 0;
            let mut j = i;
            let mut overflow = false;
            loop {
                while j < b.len() && b[j].is_ascii_digit() {
                    value = match value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(b[j] - b'0')))
                    {
                        Some(v) => v,
                        None => {
                            overflow = true;
                            0
                        }
                    };
                    digits += 1;
                    j += 1;
                }
                if j + 3 < b.len()
                    && b[j] == b','
                    && b[j + 1..j + 4].iter().all(u8::is_ascii_digit)
                    && b.get(j + 4).is_none_or(|x| !x.is_ascii_digit())
                {
                    j += 1;
                    continue;
                }
                break;
            }
            let mut ordinal = false;
            let rest = &s[j..];
            for suffix in ["st", "nd", "rd", "th"] {
                if rest
                    .get(..2)
                    .is_some_and(|r| r.eq_ignore_ascii_case(suffix))
                    && rest
                        .get(2..)
                        .is_some_and(|r| r.chars().next().is_none_or(|c| !c.is_alphanumeric()))
                {
                    ordinal = true;
                    j += 2;
                    break;
                }
            }
            if !overflow {
                out.push(Token {
                    tok: Tok::Num {
                        value,
                        digits,
                        ordinal,
                    },
                    start,
                    end: j,
                });
            }
            i = j;
        } else if (c as char).is_ascii_alphabetic() || c >= 0x80 {
            let start = i;
            let rest = &s[i..];
            let end = rest
                .char_indices()
                .find(|(_, ch)| !ch.is_alphabetic())
                .map_or(s.len(), |(k, _)| i + k);
            if end == start {
                // a non-alphabetic non-ASCII char: skip it
                i += rest.chars().next().map_or(1, char::len_utf8);
                continue;
            }
            let mut word = s[start..end].to_lowercase();
            let mut stop = end;
            // keep a trailing full stop of an abbreviated month (`Jan.`)
            if b.get(end) == Some(&b'.') && month(&word).is_some() && word.len() <= 4 {
                stop = end + 1;
                word.push('.');
            }
            out.push(Token {
                tok: Tok::Word(word),
                start,
                end: stop,
            });
            i = stop;
        } else {
            if !c.is_ascii_whitespace() {
                out.push(Token {
                    tok: Tok::Punct(c as char),
                    start: i,
                    end: i + 1,
                });
            }
            i += 1;
        }
    }
    out
}

fn digits_at(b: &[u8], i: usize, n: usize) -> Option<u32> {
    let slice = b.get(i..i + n)?;
    if !slice.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(slice).ok()?.parse().ok()
}

/// `2025-12-03`, `2025-12-03T21:49:11Z`.
fn iso_date(s: &str, i: usize) -> Option<(Tok, usize)> {
    let b = s.as_bytes();
    let year = digits_at(b, i, 4)?;
    if b.get(i + 4) != Some(&b'-') || b.get(i + 7) != Some(&b'-') {
        return None;
    }
    let month = digits_at(b, i + 5, 2)?;
    let day = digits_at(b, i + 8, 2)?;
    if b.get(i + 10).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let date = PartialDate {
        year: i32::try_from(year).ok(),
        month,
        day,
    };
    let mut end = i + 10;
    let mut time = None;
    if b.get(end) == Some(&b'T')
        && let Some((Tok::Time(t, _), e)) = clock(s, end + 1)
    {
        time = Some(t);
        end = e;
        if b.get(end) == Some(&b'Z') {
            end += 1;
        }
    }
    Some((Tok::IsoDate(date, time), end))
}

/// `21:49`, `10:05:11`, `10:05:11am`, `6:32:am`, `10:27:35pm`.
fn clock(s: &str, i: usize) -> Option<(Tok, usize)> {
    let b = s.as_bytes();
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() && j - i < 2 {
        j += 1;
    }
    if j == i || b.get(j) != Some(&b':') {
        return None;
    }
    let hour: u32 = s[i..j].parse().ok()?;
    let minute = digits_at(b, j + 1, 2)?;
    let mut end = j + 3;
    let mut second = None;
    if b.get(end) == Some(&b':')
        && let Some(sec) = digits_at(b, end + 1, 2)
    {
        second = Some(sec);
        end += 3;
    }
    if b.get(end).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    // am/pm glued on, possibly after a stray colon (`6:32:am`)
    let mut ampm = None;
    let mut k = end;
    if b.get(k) == Some(&b':') {
        k += 1;
    }
    let tail = s.get(k..k + 2).map(str::to_ascii_lowercase);
    if let Some(t) = tail.as_deref()
        && (t == "am" || t == "pm")
        && s[k + 2..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
    {
        ampm = Some(t == "pm");
        end = k + 2;
    }
    if minute >= 60 || second.is_some_and(|s| s >= 60) || hour >= 24 {
        return None;
    }
    Some((
        Tok::Time(
            TimeOfDay {
                hour,
                minute,
                second,
            },
            ampm,
        ),
        end,
    ))
}

/// Every time expression in `sentence`, in order.
pub fn find(sentence: &str) -> Vec<TimeExpr> {
    let toks = tokenize(sentence);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some((expr, next)) = calendar(&toks, i) {
            out.push(expr);
            i = next;
            continue;
        }
        if let Some(expr) = counter(&toks, i) {
            out.push(expr);
        }
        i += 1;
    }
    out
}

fn is_word(t: &Tok, w: &str) -> bool {
    matches!(t, Tok::Word(x) if x == w)
}

/// `epoch N`, `slot: N`, `timestamp N`, `N unix time`.
fn counter(toks: &[Token], i: usize) -> Option<TimeExpr> {
    let Tok::Word(w) = &toks[i].tok else {
        // `1681338455 unix time`
        if let Tok::Num {
            value, digits: 10, ..
        } = toks[i].tok
            && (1_400_000_000..2_500_000_000).contains(&value)
            && toks.get(i + 1).is_some_and(|t| is_word(&t.tok, "unix"))
        {
            return Some(TimeExpr {
                start: toks[i].start,
                end: toks[i].end,
                kind: TimeKind::Unix(i64::try_from(value).ok()?),
            });
        }
        return None;
    };
    let kind = match w.as_str() {
        "epoch" => 0,
        "slot" => 1,
        "timestamp" | "unix" | "time" => 2,
        _ => return None,
    };
    // the number may follow after `:`, `#`, `=`, `of` or `set to`
    // (`fork epoch set to 411392`, `epoch is 411392`)
    let mut j = i + 1;
    while j < toks.len() && j <= i + 3 {
        match &toks[j].tok {
            Tok::Punct(':' | '#' | '=' | '(') => j += 1,
            Tok::Word(x) if matches!(x.as_str(), "of" | "number" | "set" | "to" | "is" | "at") => {
                j += 1
            }
            _ => break,
        }
    }
    let Tok::Num {
        value,
        digits,
        ordinal: false,
    } = toks.get(j)?.tok
    else {
        return None;
    };
    let kind = match kind {
        0 if value < 1 << 40 => TimeKind::Epoch(value),
        1 if value < 1 << 45 => TimeKind::Slot(value),
        2 if digits == 10 && (1_400_000_000..2_500_000_000).contains(&value) => {
            TimeKind::Unix(i64::try_from(value).ok()?)
        }
        _ => return None,
    };
    Some(TimeExpr {
        start: toks[i].start,
        end: toks[j].end,
        kind,
    })
}

#[derive(Default)]
struct Parts {
    month: Option<u32>,
    day: Option<u32>,
    year: Option<i32>,
    time: Option<(TimeOfDay, Option<bool>)>,
    ampm: Option<bool>,
    weekday: bool,
}

/// A calendar date (and time) starting at token `i`.
fn calendar(toks: &[Token], i: usize) -> Option<(TimeExpr, usize)> {
    let mut p = Parts::default();
    let start = toks[i].start;
    let mut end = toks[i].end;
    let mut j = i;
    // The expression must start with a weekday, a month, an ISO date, or a
    // day number directly followed by a month.
    match &toks[i].tok {
        Tok::IsoDate(d, t) => {
            p.year = d.year;
            p.month = Some(d.month);
            p.day = Some(d.day);
            p.time = t.map(|t| (t, None));
            j += 1;
        }
        Tok::Word(w) if weekday(w) => {
            p.weekday = true;
            j += 1;
        }
        Tok::Word(w) if month(w).is_some() => {
            // `May` is also a verb: a day number must follow.
            let next_is_day = toks.get(i + 1).is_some_and(|t| {
                matches!(
                    t.tok,
                    Tok::Num {
                        value: 1..=31,
                        digits: 1 | 2,
                        ..
                    }
                )
            });
            if !next_is_day {
                return None;
            }
            p.month = month(w);
            j += 1;
        }
        Tok::Num {
            value: d @ 1..=31,
            digits: 1 | 2,
            ..
        } => {
            let mut k = i + 1;
            while k < toks.len()
                && (is_word(&toks[k].tok, "of") || matches!(toks[k].tok, Tok::Punct('.')))
            {
                k += 1;
            }
            match toks.get(k).map(|t| &t.tok) {
                Some(Tok::Word(w)) if month(w).is_some() => {
                    p.day = u32::try_from(*d).ok();
                    p.month = month(w);
                    end = toks[k].end;
                    j = k + 1;
                }
                _ => return None,
            }
        }
        _ => return None,
    }
    let mut last = j;
    while j < toks.len() && j < i + 16 {
        let t = &toks[j].tok;
        let consumed = match t {
            Tok::Punct(',' | ';' | '.' | '(' | ')' | '-') => Some(false),
            Tok::Word(w) if matches!(w.as_str(), "at" | "on" | "of" | "the") => Some(false),
            Tok::Word(w) if weekday(w) && !p.weekday && p.month.is_none() => {
                p.weekday = true;
                Some(true)
            }
            Tok::Word(w) if month(w).is_some() && p.month.is_none() => {
                p.month = month(w);
                Some(true)
            }
            Tok::Word(w) if matches!(w.as_str(), "utc" | "gmt" | "z") => Some(true),
            Tok::Word(w)
                if matches!(w.as_str(), "am" | "pm") && p.time.is_some() && p.ampm.is_none() =>
            {
                p.ampm = Some(w == "pm");
                Some(true)
            }
            Tok::Num {
                value,
                digits: 4,
                ordinal: false,
            } if p.year.is_none() && (2000..=2100).contains(value) => {
                p.year = i32::try_from(*value).ok();
                Some(true)
            }
            Tok::Num {
                value: d @ 1..=31,
                digits: 1 | 2,
                ..
            } if p.day.is_none() && p.month.is_some() => {
                p.day = u32::try_from(*d).ok();
                Some(true)
            }
            Tok::Num {
                value: d @ 1..=31,
                digits: 1 | 2,
                ..
            } if p.day.is_none() && p.month.is_none() => {
                // `Wednesday, 1 October`
                let next = toks.get(j + 1).map(|t| &t.tok);
                if matches!(next, Some(Tok::Word(w)) if month(w).is_some()) {
                    p.day = u32::try_from(*d).ok();
                    Some(true)
                } else {
                    None
                }
            }
            Tok::Time(tod, ampm) if p.time.is_none() && (p.month.is_some() || p.weekday) => {
                p.time = Some((*tod, *ampm));
                Some(true)
            }
            Tok::IsoDate(d, t) if p.month.is_none() && p.day.is_none() && p.year.is_none() => {
                p.year = d.year;
                p.month = Some(d.month);
                p.day = Some(d.day);
                if let Some(t) = t {
                    p.time = Some((*t, None));
                }
                Some(true)
            }
            _ => None,
        };
        match consumed {
            None => break,
            Some(true) => {
                end = end.max(toks[j].end);
                last = j + 1;
            }
            Some(false) => {}
        }
        j += 1;
    }
    let (month, day) = (p.month?, p.day?);
    if let Some(y) = p.year {
        NaiveDate::from_ymd_opt(y, month, day)?;
    } else if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let time = match p.time {
        None => None,
        Some((mut t, glued)) => {
            let ampm = glued.or(p.ampm);
            if let Some(pm) = ampm {
                if t.hour == 0 || t.hour > 12 {
                    return None;
                }
                t.hour = match (pm, t.hour) {
                    (false, 12) => 0,
                    (true, 12) => 12,
                    (true, h) => h + 12,
                    (false, h) => h,
                };
            }
            Some(t)
        }
    };
    Some((
        TimeExpr {
            start,
            end,
            kind: TimeKind::Calendar {
                date: PartialDate {
                    year: p.year,
                    month,
                    day,
                },
                time,
            },
        },
        last.max(i + 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> TimeKind {
        let found = find(s);
        assert_eq!(found.len(), 1, "{s}: {found:?}");
        found[0].kind
    }

    fn cal(y: Option<i32>, m: u32, d: u32, t: Option<(u32, u32, Option<u32>)>) -> TimeKind {
        TimeKind::Calendar {
            date: PartialDate {
                year: y,
                month: m,
                day: d,
            },
            time: t.map(|(hour, minute, second)| TimeOfDay {
                hour,
                minute,
                second,
            }),
        }
    }

    #[test]
    fn calendar_phrasings() {
        let full = |h, m, s| Some((h, m, Some(s)));
        for (text, want) in [
            (
                "scheduled to occur at  2025-12-03 21:49:11 UTC .",
                cal(Some(2025), 12, 3, full(21, 49, 11)),
            ),
            (
                "(2025-12-03, 21:49 UTC)",
                cal(Some(2025), 12, 3, Some((21, 49, None))),
            ),
            (
                "epoch-less 2025-12-03T21:49:11Z",
                cal(Some(2025), 12, 3, full(21, 49, 11)),
            ),
            (
                "(May 7, 2025, 10:05:11am UTC)",
                cal(Some(2025), 5, 7, full(10, 5, 11)),
            ),
            (
                "due April 12, 2023; 10:27:35pm UTC",
                cal(Some(2023), 4, 12, full(22, 27, 35)),
            ),
            (
                "Holesky on Wednesday, 1 October 2025 08:48:00 UTC",
                cal(Some(2025), 10, 1, full(8, 48, 0)),
            ),
            (
                "on Wednesday, April 12, 2023 10:27:35 PM UTC",
                cal(Some(2023), 4, 12, full(22, 27, 35)),
            ),
            (
                "(Wed May 07 10:05:11 2025 UTC)",
                cal(Some(2025), 5, 7, full(10, 5, 11)),
            ),
            (
                "timestamp: Mon, Feb 24 at 21:55:12 UTC",
                cal(None, 2, 24, full(21, 55, 12)),
            ),
            (
                "activates Wed 19 Nov 2025 16:00:01 UTC",
                cal(Some(2025), 11, 19, full(16, 0, 1)),
            ),
            ("on December 3rd, 2025.", cal(Some(2025), 12, 3, None)),
            ("executed on 13th of March.", cal(None, 3, 13, None)),
            ("before the 12th of April", cal(None, 4, 12, None)),
            ("Sepolia (30 Jan)", cal(None, 1, 30, None)),
            ("upgrade on Jan 31, and", cal(None, 1, 31, None)),
            (
                "go live on 13th March, 2024 (unix",
                cal(Some(2024), 3, 13, None),
            ),
            ("upgrade on March 13th.", cal(None, 3, 13, None)),
            ("scheduled for 30 April 2025", cal(Some(2025), 4, 30, None)),
            (
                "at 01:55:35pm UTC on March 13, 2024",
                cal(Some(2024), 3, 13, None),
            ),
            (
                "December 9, 2025, 02:21:11pm UTC and",
                cal(Some(2025), 12, 9, full(14, 21, 11)),
            ),
            (
                "which is 6:32:am 17. Jan. 2024 UTC.",
                cal(Some(2024), 1, 17, None),
            ),
            ("BPO1 on 2025-12-09", cal(Some(2025), 12, 9, None)),
        ] {
            assert_eq!(one(text), want, "{text}");
        }
    }

    #[test]
    fn counters() {
        assert_eq!(one("at epoch 411,392 (x"), TimeKind::Epoch(411_392));
        assert_eq!(one("fork epoch  411392 ."), TimeKind::Epoch(411_392));
        assert_eq!(
            one("Holesky slot: 3710976, more"),
            TimeKind::Slot(3_710_976)
        );
        assert_eq!(
            one("at block timestamp 1678832736 (#1)"),
            TimeKind::Unix(1_678_832_736)
        );
        assert_eq!(one("(unix  1710338135 )"), TimeKind::Unix(1_710_338_135));
        assert_eq!(
            one("Enable Shanghai at  1681338455  unix time"),
            TimeKind::Unix(1_681_338_455)
        );
    }

    #[test]
    fn not_dates() {
        for s in [
            "This may be a breaking change",
            "version 1.2.3 and 25.11.0",
            "PR #12345 and #1",
            "epoch boundary state",
            "March forward",
            "12:99 is no time",
            "on 2025-13-45",
            "timestamp 42",
            "the 31st of Blah",
            "Feb 30, 2025",
        ] {
            assert!(find(s).is_empty(), "{s}: {:?}", find(s));
        }
    }

    #[test]
    fn exact_instants() {
        let e = &find("at 2025-12-03 21:49:11 UTC")[0];
        assert_eq!(e.exact().unwrap().timestamp(), 1_764_798_551);
        assert_eq!(find("on 30 Jan")[0].exact(), None);
    }

    #[test]
    fn no_panic_on_odd_input() {
        for s in [
            "",
            "9",
            "99999999999999999999999999",
            "1:",
            "12:3",
            "2025-1",
            "é1st",
            "31st",
            "1,",
            "1,00",
            "Jan.",
            "epoch",
            "slot :",
            "12:30:am",
            ":",
        ] {
            let _ = find(s);
        }
    }
}
