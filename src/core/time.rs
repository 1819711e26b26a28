//! Time as data. The core never reads a clock: every function that needs the
//! time takes a `Timestamp` argument, given by the daemon (from the real
//! clock, in `shell/clock.rs`) or by the simulator (from its simulated one).
//!
//! Invariant: no clock reads here; conversions only.

use std::fmt;

/// Wall-clock time, milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1000))
    }

    /// Whole seconds since the epoch (what the CIB records).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_iso8601(self.secs()))
    }
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Epoch seconds as `ctime` prints them (`Wed Oct  2 13:07:16 2013`), UTC.
pub fn ctime_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let (year, month, day) = civil_from_days(days);
    let weekday = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {day:>2} {h:02}:{m:02}:{s:02} {year}",
        WD[weekday as usize],
        MO[(month - 1) as usize]
    )
}

/// (year, month, day) -> days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2025-06-01 00:00:00Z` style (UTC).
pub fn format_iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Parses the date forms Pacemaker accepts on the command line and in rules:
/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]`, with an
/// optional `Z` or `±HH[:MM]` offset (no offset = UTC). Returns seconds since
/// the epoch.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let t = text.trim();
    let (date, rest) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if rest.is_empty() {
        return Some(secs);
    }
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut cp = clock.trim().split(':');
    let hh: i64 = cp.next()?.parse().ok()?;
    let mm: i64 = cp.next().map(|s| s.parse().ok()).unwrap_or(Some(0))?;
    let ss: i64 = cp.next().map(|s| s.parse().ok()).unwrap_or(Some(0))?;
    if hh > 24 || mm > 59 || ss > 60 {
        return None;
    }
    secs += hh * 3600 + mm * 60 + ss;
    match offset.chars().next() {
        None | Some('Z') | Some('z') => {}
        Some(sign) => {
            let o = &offset[1..];
            let (oh, om) = match o.split_once(':') {
                Some((h, m)) => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
                None if o.len() == 4 => (o[..2].parse().ok()?, o[2..].parse().ok()?),
                None => (o.parse().ok()?, 0),
            };
            let off = oh * 3600 + om * 60;
            secs += if sign == '+' { -off } else { off };
        }
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_round_trip() {
        let s = parse_iso8601("2025-06-01 00:00:00Z").unwrap();
        assert_eq!(s, 1_748_736_000);
        assert_eq!(format_iso8601(s), "2025-06-01 00:00:00Z");
        assert_eq!(parse_iso8601("2025-06-01T02:00:00+02:00"), Some(s));
        assert_eq!(parse_iso8601("2025-06-01"), Some(s));
        assert_eq!(parse_iso8601("1970-01-01 00:00:01"), Some(1));
        assert_eq!(parse_iso8601("2025-13-01"), None);
        assert_eq!(parse_iso8601("yesterday"), None);
    }

    #[test]
    fn civil_conversions_agree() {
        for days in [-1000, 0, 59, 60, 365, 11_016, 20_000, 50_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}

/// An interval as Pacemaker writes it in messages (`pcmk__readable_interval`):
/// days, hours and minutes only when the interval is strictly larger than
/// one of them, then seconds with milliseconds (`1.500s`) or milliseconds
/// alone, `0s` for zero. The strict comparisons are Pacemaker's: 60000 ms
/// is `60s`, 1000 ms is `1000ms`.
pub fn readable_interval(mut ms: u64) -> String {
    use std::fmt::Write as _;
    const S: u64 = 1000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    let mut out = String::new();
    for (unit, suffix) in [(D, "d"), (H, "h"), (M, "m")] {
        if ms > unit {
            let _ = write!(out, "{}{suffix}", ms / unit);
            ms %= unit;
        }
    }
    if ms > S {
        let _ = write!(out, "{}", ms / S);
        if !ms.is_multiple_of(S) {
            let _ = write!(out, ".{:03}", ms % S);
        }
        out.push('s');
    } else if ms > 0 {
        let _ = write!(out, "{ms}ms");
    } else if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod readable_interval_tests {
    use super::readable_interval;

    #[test]
    fn units_appear_only_above_one_whole_unit() {
        assert_eq!(readable_interval(0), "0s");
        assert_eq!(readable_interval(500), "500ms");
        assert_eq!(readable_interval(1000), "1000ms");
        assert_eq!(readable_interval(1500), "1.500s");
        assert_eq!(readable_interval(10_000), "10s");
        assert_eq!(readable_interval(60_000), "60s");
        assert_eq!(readable_interval(90_000), "1m30s");
        assert_eq!(readable_interval(3_600_000), "60m");
        assert_eq!(readable_interval(2 * 86_400_000), "2d");
        assert_eq!(readable_interval(86_400_000 + 3_600_000 + 1), "1d1h1ms");
        assert_eq!(readable_interval(u32::MAX as u64), "49d17h2m47.295s");
    }
}
