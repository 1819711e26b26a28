//! Scores as Pacemaker computes them: integers bounded to ±1,000,000
//! ("INFINITY"), where -INFINITY wins over +INFINITY in a sum.
//!
//! Invariant: arithmetic on scores goes through `Score::add` so that the
//! bounds and the infinity rules hold everywhere.

use std::fmt;

pub const INFINITY: i32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Score(pub i32);

impl Score {
    pub const ZERO: Score = Score(0);
    pub const INFINITY: Score = Score(INFINITY);
    pub const MINUS_INFINITY: Score = Score(-INFINITY);

    /// Reads a score as Pacemaker does (`char2score`): `INFINITY`,
    /// `+INFINITY`, `-INFINITY` (case-sensitive), `red`/`yellow`/`green`
    /// (0 unless a node-health strategy says otherwise), or an integer
    /// prefix clipped to ±INFINITY. Anything else reads as 0 — use
    /// [`Score::parse_strict`] to report it.
    pub fn parse_lenient(s: &str) -> Score {
        match s {
            "-INFINITY" => return Score::MINUS_INFINITY,
            "INFINITY" | "+INFINITY" => return Score::INFINITY,
            _ => {}
        }
        if ["red", "yellow", "green"]
            .iter()
            .any(|c| s.eq_ignore_ascii_case(c))
        {
            return Score::ZERO;
        }
        // strtoll: leading blanks, an optional sign, digits; the rest ignored.
        let t = s.trim_start();
        let (neg, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let n: String = digits.chars().take_while(|c| c.is_ascii_digit()).collect();
        if n.is_empty() {
            return Score::ZERO;
        }
        let v: i64 = n.parse().unwrap_or(i64::MAX);
        let v = if neg { -v } else { v };
        Score(v.clamp(-(INFINITY as i64), INFINITY as i64) as i32)
    }

    /// Reads a score, refusing anything Pacemaker would only accept with a
    /// warning (e.g. `INFINTY`, `100abc`, `inf`).
    pub fn parse_strict(s: &str) -> Result<Score, String> {
        match s {
            "-INFINITY" | "INFINITY" | "+INFINITY" => return Ok(Score::parse_lenient(s)),
            _ => {}
        }
        if ["red", "yellow", "green"]
            .iter()
            .any(|c| s.eq_ignore_ascii_case(c))
        {
            return Ok(Score::ZERO);
        }
        let t = s.strip_prefix(['+', '-']).unwrap_or(s);
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "'{s}' is not a score: expected an integer, INFINITY, +INFINITY or -INFINITY"
            ));
        }
        Ok(Score::parse_lenient(s))
    }

    pub fn is_infinite(self) -> bool {
        self.0.abs() >= INFINITY
    }

    pub fn is_minus_infinity(self) -> bool {
        self.0 <= -INFINITY
    }
}

/// Pacemaker's `pcmk__add_scores`: -INFINITY absorbs everything, then
/// +INFINITY, else a bounded sum.
impl std::ops::Add for Score {
    type Output = Score;

    fn add(self, other: Score) -> Score {
        let (a, b) = (self.0, other.0);
        if a <= -INFINITY || b <= -INFINITY {
            return Score::MINUS_INFINITY;
        }
        if a >= INFINITY || b >= INFINITY {
            return Score::INFINITY;
        }
        Score((a + b).clamp(-INFINITY, INFINITY))
    }
}

impl std::ops::AddAssign for Score {
    fn add_assign(&mut self, other: Score) {
        *self = *self + other;
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= INFINITY {
            f.write_str("INFINITY")
        } else if self.0 <= -INFINITY {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parse_matches_pacemaker() {
        assert_eq!(Score::parse_lenient("INFINITY"), Score::INFINITY);
        assert_eq!(Score::parse_lenient("+INFINITY"), Score::INFINITY);
        assert_eq!(Score::parse_lenient("-INFINITY"), Score::MINUS_INFINITY);
        assert_eq!(Score::parse_lenient("infinity"), Score::ZERO);
        assert_eq!(Score::parse_lenient("INFINTY"), Score::ZERO);
        assert_eq!(Score::parse_lenient("100abc"), Score(100));
        assert_eq!(Score::parse_lenient(" -5"), Score(-5));
        assert_eq!(Score::parse_lenient("99999999999"), Score::INFINITY);
        assert_eq!(Score::parse_lenient("-99999999999"), Score::MINUS_INFINITY);
    }

    #[test]
    fn strict_parse_rejects_typos() {
        assert!(Score::parse_strict("INFINTY").is_err());
        assert!(Score::parse_strict("10x").is_err());
        assert!(Score::parse_strict("").is_err());
        assert_eq!(Score::parse_strict("-20"), Ok(Score(-20)));
    }

    #[test]
    fn minus_infinity_wins() {
        assert_eq!(
            Score::INFINITY + Score::MINUS_INFINITY,
            Score::MINUS_INFINITY
        );
        assert_eq!(Score(999_999) + Score(5), Score::INFINITY);
        assert_eq!(Score(-10) + Score(4), Score(-6));
    }
}
