//! Durations as Pacemaker 2.1.5 reads them: operation timeouts and delays
//! (`crm_get_msec`) and intervals (`crm_parse_interval_spec`, which also
//! takes ISO 8601 durations). Everyone who turns `20s`, `2min` or `PT20S`
//! into milliseconds calls this module, so warden and Pacemaker agree on
//! every spelling, quirks included:
//!
//! * A number is digits and dots; only the integer prefix counts (`1.5m` is
//!   one minute). Blanks may surround the number. No sign: `-5` is invalid.
//! * The unit is matched by a case-insensitive prefix, in this order: `ms`
//!   (milliseconds), `us` (microseconds, rounded down), `s`, `m` (minutes),
//!   `h`; no unit means seconds. So `20sec`, `20seconds`, `2min`, `2mins`
//!   and `3hr` all work, and so do oddities like `5mo` (5 minutes).
//! * Intervals starting with `P` are ISO 8601 durations, where Pacemaker
//!   counts years and days from 1: `P1D` and `P1Y` are 0, `P2D` is one day,
//!   `P1W` is six days. Months are 30 days. Fractions are read as 0.
//!   Timeouts do not take ISO 8601 at all.
//! * Intervals are clipped to `u32::MAX` milliseconds (a `guint`).
//!
//! Invariant: pure functions of the text; no clock (a duration is never
//! anchored to a date here).

use std::fmt;

/// Milliseconds Pacemaker clips an interval to (`G_MAXUINT`).
pub const INTERVAL_MAX_MS: u64 = u32::MAX as u64;

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    pub spec: String,
    pub reason: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a duration: {}", self.spec, self.reason)
    }
}

impl std::error::Error for DurationError {}

fn refuse(spec: &str, reason: impl Into<String>) -> DurationError {
    DurationError {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

const EXPECTED_UNITS: &str = "expected a number of seconds with an optional unit \
     (ms, s, m, h; e.g. 20s, 500ms, 2min)";

/// `crm_get_msec`: a timeout, start delay or other time value in
/// milliseconds. ISO 8601 is not accepted here (Pacemaker reads `PT20S` as a
/// timeout as invalid and falls back to its default).
pub fn parse_msec(spec: &str) -> Result<u64, DurationError> {
    match get_msec(spec) {
        Ok(ms) if ms >= 0 => Ok(ms as u64),
        Ok(_) => Err(refuse(
            spec,
            format!("no digits in the number: {EXPECTED_UNITS}"),
        )),
        Err(reason) => Err(refuse(spec, reason)),
    }
}

/// `crm_parse_interval_spec`: an operation interval or a time-valued option
/// in milliseconds: [`parse_msec`]'s syntax, or an ISO 8601 duration when
/// the text starts with `P`. Clipped to [`INTERVAL_MAX_MS`].
pub fn parse_interval_ms(spec: &str) -> Result<u64, DurationError> {
    let ms: i128 = if spec.starts_with('P') {
        let d = parse_iso8601(spec)?;
        1000 * d.pacemaker_seconds()
    } else {
        let ms = parse_msec(spec).map_err(|mut e| {
            e.reason.push_str(", or an ISO 8601 duration such as PT20S");
            e
        })?;
        i128::from(ms)
    };
    if ms < 0 {
        return Err(refuse(spec, "a duration cannot be negative"));
    }
    Ok((ms as u128).min(u128::from(INTERVAL_MAX_MS)) as u64)
}

/// The heart of `crm_get_msec`, returning its raw value: negative values
/// are what Pacemaker returns for some invalid input (a number of only
/// dots reads as -1 times the unit).
fn get_msec(spec: &str) -> Result<i64, String> {
    const BLANKS: &[char] = &[' ', '\t', '\n', '\r', '\u{c}'];
    let num = spec.trim_start_matches(BLANKS);
    let num_len = num
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    if num_len == 0 {
        return Err(if spec.trim().is_empty() {
            format!("it is empty: {EXPECTED_UNITS}")
        } else {
            format!("it does not start with a number: {EXPECTED_UNITS}")
        });
    }
    let units = num[num_len..].trim_start_matches(BLANKS);
    let starts = |p: &str| {
        units.len() >= p.len() && units.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    let (multiplier, divisor): (i64, i64) = if starts("ms") {
        (1, 1)
    } else if starts("us") {
        (1, 1000)
    } else if starts("s") {
        (1000, 1)
    } else if starts("m") {
        (60_000, 1)
    } else if starts("h") {
        (3_600_000, 1)
    } else if units.is_empty() {
        (1000, 1)
    } else {
        let unit: String = units.chars().take(12).collect();
        return Err(format!("unknown unit '{unit}': {EXPECTED_UNITS}"));
    };
    // strtoll on the number: the integer prefix; none (".5") reads as -1.
    let digits: &str = &num[..num.bytes().take_while(u8::is_ascii_digit).count()];
    let n: i64 = if digits.is_empty() {
        -1
    } else {
        digits.parse().unwrap_or(i64::MAX)
    };
    if n > i64::MAX / multiplier {
        return Ok(i64::MAX);
    }
    Ok(n * multiplier / divisor)
}

/// An ISO 8601 duration as Pacemaker 2.1.5 parses it
/// (`crm_time_parse_duration`): each field is a C `int`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    pub years: i32,
    pub months: i32,
    pub days: i32,
    pub seconds: i32,
}

impl IsoDuration {
    /// Seconds as Pacemaker 2.1.5 computes them (`crm_time_get_seconds`):
    /// years and days count from 1, months are 30 days.
    pub fn pacemaker_seconds(&self) -> i128 {
        const DAY: i128 = 86_400;
        let mut s: i128 = 0;
        if self.years > 1 {
            // The days of years 1 .. years-1 of the proleptic calendar.
            let n = i128::from(self.years) - 1;
            let leap = n / 4 - n / 100 + n / 400;
            s += DAY * (365 * n + leap);
        }
        if self.months > 0 {
            s += DAY * 30 * i128::from(self.months);
        }
        if self.days > 0 {
            s += DAY * (i128::from(self.days) - 1);
        }
        s + i128::from(self.seconds)
    }

    /// Seconds as the calendar reading suggests (a year of 365 days, a
    /// month of 30): what the writer most likely meant.
    pub fn intended_seconds(&self) -> i128 {
        const DAY: i128 = 86_400;
        DAY * (365 * i128::from(self.years.max(0))
            + 30 * i128::from(self.months.max(0))
            + i128::from(self.days.max(0)))
            + i128::from(self.seconds)
    }
}

/// C's `isspace` in the C locale.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `crm_time_parse_duration`: `P` then number-unit pairs (`Y`, `M`, `W`,
/// `D`, `T`, `H`, `M`, `S`, in any order), up to the end, a `/` or a blank.
pub fn parse_iso8601(spec: &str) -> Result<IsoDuration, DurationError> {
    let s = spec.as_bytes();
    if s.first() != Some(&b'P') {
        return Err(refuse(spec, "an ISO 8601 duration starts with 'P'"));
    }
    if s.len() < 2 || c_space(s[1]) {
        return Err(refuse(spec, "nothing follows 'P' (e.g. PT20S)"));
    }
    let mut d = IsoDuration::default();
    let mut is_time = false;
    let mut i = 1;
    while i < s.len() && s[i] != b'/' && !c_space(s[i]) {
        if s[i] == b'T' {
            is_time = true;
            i += 1;
            continue;
        }
        let (consumed, n) = match iso_int(&s[i..]) {
            IsoInt::Number(consumed, n) => (consumed, n),
            IsoInt::None => {
                return Err(refuse(
                    spec,
                    format!("expected a number at '{}'", &spec[i..]),
                ))
            }
            IsoInt::TooLongFraction => {
                return Err(refuse(
                    spec,
                    "a fraction of more than ten digits (Pacemaker 2.1.5 crashes on it)",
                ))
            }
        };
        i += consumed;
        match s.get(i) {
            Some(b'Y') => d.years = n,
            Some(b'M') if is_time => d.seconds = d.seconds.wrapping_add(n.wrapping_mul(60)),
            Some(b'M') => d.months = n,
            Some(b'W') => d.days = d.days.wrapping_add(n.wrapping_mul(7)),
            Some(b'D') => d.days = d.days.wrapping_add(n),
            Some(b'H') => d.seconds = d.seconds.wrapping_add(n.wrapping_mul(3600)),
            Some(b'S') => d.seconds = d.seconds.wrapping_add(n),
            None => return Err(refuse(spec, format!("no unit after {n}"))),
            Some(_) => {
                let unit = spec[i..].chars().next().unwrap_or('?');
                return Err(refuse(
                    spec,
                    format!("'{unit}' is not a unit (Y, M, W, D, H, M, S; T before the time)"),
                ));
            }
        }
        i += 1;
    }
    Ok(d)
}

enum IsoInt {
    /// Bytes consumed and the value.
    Number(usize, i32),
    None,
    TooLongFraction,
}

/// The number reader of Pacemaker's ISO 8601 parser (`parse_int` with a
/// width of 10 digits and no upper bound): an optional `-` (or `+`, `:`),
/// up to ten digits, as a wrapping C `int`. A leading `.`/`,` starts a
/// fraction, which it reads as 0.
fn iso_int(s: &[u8]) -> IsoInt {
    let mut off = 0;
    let mut fraction = false;
    let mut negate = false;
    match s.first() {
        None => return IsoInt::None,
        Some(b'.' | b',') => {
            fraction = true;
            off += 1;
        }
        Some(b'-') => {
            negate = true;
            off += 1;
        }
        Some(b'+' | b':') => off += 1,
        _ => {}
    }
    let mut n: i32 = 0;
    let mut count = 0;
    while (fraction || count < 10) && s.get(off).is_some_and(u8::is_ascii_digit) {
        if fraction {
            // Pacemaker divides by `10 ^ count` (an exclusive or), which is
            // zero at the eleventh digit.
            if count == 10 {
                return IsoInt::TooLongFraction;
            }
        } else {
            n = n.wrapping_mul(10).wrapping_add(i32::from(s[off] - b'0'));
        }
        off += 1;
        count += 1;
    }
    if fraction {
        n = 0;
    }
    if negate {
        n = n.wrapping_neg();
    }
    if count == 0 {
        IsoInt::None
    } else {
        IsoInt::Number(off, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_interval(spec: &str, expect: Option<u64>) {
        assert_eq!(parse_interval_ms(spec).ok(), expect, "interval {spec:?}");
    }

    fn check_msec(spec: &str, expect: Option<u64>) {
        assert_eq!(parse_msec(spec).ok(), expect, "msec {spec:?}");
    }

    #[test]
    fn numbers_with_units() {
        check_msec("20", Some(20_000));
        check_msec("20s", Some(20_000));
        check_msec("20sec", Some(20_000));
        check_msec("20seconds", Some(20_000));
        check_msec(" 20 s ", Some(20_000));
        check_msec("20S", Some(20_000));
        check_msec("500ms", Some(500));
        check_msec("500msec", Some(500));
        check_msec("10MS", Some(10));
        check_msec("1m", Some(60_000));
        check_msec("2min", Some(120_000));
        check_msec("5mo", Some(300_000));
        check_msec("1h", Some(3_600_000));
        check_msec("3hr", Some(10_800_000));
        check_msec("90000us", Some(90));
        check_msec("5usec", Some(0));
        check_msec("0", Some(0));
        check_msec("1.5m", Some(60_000));
        check_msec("007", Some(7_000));
    }

    #[test]
    fn invalid_numbers_and_units() {
        for bad in [
            "", "  ", "20x", "x20", "-5", "+5", "s", "PT20S", ".", "..5", "20 x", "1e3",
        ] {
            check_msec(bad, None);
        }
        assert_eq!(
            parse_msec("20x").unwrap_err().to_string(),
            "'20x' is not a duration: unknown unit 'x': expected a number of seconds \
             with an optional unit (ms, s, m, h; e.g. 20s, 500ms, 2min)"
        );
    }

    #[test]
    fn huge_values_saturate() {
        check_msec("99999999999999999999999", Some(i64::MAX as u64));
        check_msec("9223372036854775807ms", Some(i64::MAX as u64));
        check_interval("99999999999", Some(INTERVAL_MAX_MS));
        check_interval("4294967295ms", Some(INTERVAL_MAX_MS));
        check_interval("4294967294ms", Some(4_294_967_294));
    }

    #[test]
    fn iso8601_intervals_count_days_and_years_from_one() {
        check_interval("PT5S", Some(5_000));
        check_interval("PT1M", Some(60_000));
        check_interval("PT10H", Some(36_000_000));
        check_interval("P1M", Some(2_592_000_000));
        check_interval("P1D", Some(0));
        check_interval("P2D", Some(86_400_000));
        check_interval("P1W", Some(518_400_000));
        check_interval("P1DT1S", Some(1_000));
        check_interval("P1Y", Some(0));
        check_interval("P2Y", Some(INTERVAL_MAX_MS));
        check_interval("P0D", Some(0));
        check_interval("PT", Some(0));
        check_interval("P/5", Some(0));
        check_interval("PT5S/P1D", Some(5_000));
        check_interval("PT5S trailing", Some(5_000));
        check_interval("PT.5S", Some(0));
        check_interval("P-1DT30S", Some(30_000));
    }

    #[test]
    fn invalid_iso8601() {
        for bad in [
            "P",
            "P T5S",
            "P5",
            "PT1.5S",
            "PT5s",
            "PT5X",
            "PT-5S",
            "P.12345678901S",
            "pt5s",
            " PT5S",
        ] {
            check_interval(bad, None);
        }
    }

    #[test]
    fn years_follow_the_leap_calendar() {
        let d = parse_iso8601("P5Y").unwrap();
        // Years 1..4 of the calendar: year 4 is a leap year.
        assert_eq!(d.pacemaker_seconds(), 86_400 * (365 * 3 + 366));
        assert_eq!(d.intended_seconds(), 86_400 * 365 * 5);
        let d = parse_iso8601("P101Y").unwrap();
        // 100 years: 25 multiples of 4, of which year 100 is not leap.
        assert_eq!(d.pacemaker_seconds(), 86_400 * (365 * 100 + 24));
    }

    #[test]
    fn plain_intervals_match_msec() {
        check_interval("20x", None);
        check_interval("10s", Some(10_000));
        check_interval("0", Some(0));
    }
}
