//! Durations as written in settings: `90s`, `30m`, `2h`, `1d`, `1w`, `1h30m`, `0`.

use std::time::Duration;

/// What a duration looks like, for error messages.
pub(crate) const DURATION_EXPECTED: &str =
    "a duration such as `90s`, `30m`, `2h`, `1d`, `1w`, `1h30m` or `0`";

/// Parses a duration: `0`, or one or more number-unit pairs with the units
/// `s`, `m`, `h`, `d` (24 h) and `w` (7 d), e.g. `1h30m`. Surrounding
/// whitespace is ignored; nothing else is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("invalid duration `{text}`, expected {DURATION_EXPECTED}");
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        let unit = rest[digits..].chars().next().ok_or_else(invalid)?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid()),
        };
        total = number
            .checked_mul(seconds)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| format!("duration `{text}` is too long"))?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(Duration::from_secs(total))
}

/// Writes a duration back in the settings form (`1h30m`, `0`).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ('w', 604_800),
        ('d', 86_400),
        ('h', 3600),
        ('m', 60),
        ('s', 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        for (text, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("2h", 7200),
            ("1d", 86_400),
            ("1w", 604_800),
            ("1h30m", 5400),
            ("0", 0),
            ("0s", 0),
            (" 2h ", 7200),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_everything_else() {
        for text in [
            "",
            "5",
            "h",
            "2 h",
            "2H",
            "1.5h",
            "-1h",
            "2hours",
            "1h30",
            "2ms",
            "99999999999999999999s",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("duration"), "{text}: {err}");
        }
        assert_eq!(
            parse_duration("2x").unwrap_err(),
            "invalid duration `2x`, expected a duration such as `90s`, `30m`, `2h`, `1d`, `1w`, `1h30m` or `0`"
        );
        assert!(
            parse_duration("40000000000000w")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn formats_back() {
        for text in ["0", "90s", "1h30m", "1w", "2d3h"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }
}
