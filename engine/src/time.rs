//! Simulated time.
//!
//! Time in the simulation is a count of microseconds since the world started, the same unit
//! smoltcp uses, so conversions to and from the stacks are exact. Nothing in the engine reads a
//! wall clock: every time-aware call takes `now` as an argument.
//!
//! Durations have a human text form used by scenarios and the CLI: a number followed by a unit,
//! `us`, `ms`, `s` or `min` (`"250ms"`, `"1.5s"`, `"2min"`). Parsing is exact for every value that
//! is a whole number of microseconds.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in simulated time: microseconds since the start of the world.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

/// A span of simulated time in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Instant {
    /// The start of the world.
    pub const ZERO: Instant = Instant(0);

    /// The instant `micros` microseconds after the start.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// The instant `millis` milliseconds after the start.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis * 1_000)
    }

    /// The instant `secs` seconds after the start.
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs * 1_000_000)
    }

    /// Microseconds since the start.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Seconds since the start, as a float (for display and rates only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Time elapsed since `earlier`, or zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// Converts to smoltcp's clock, which counts the same microseconds.
    pub fn to_smoltcp(self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_micros(self.0 as i64)
    }

    /// Converts from smoltcp's clock; times before the start clamp to zero.
    pub fn from_smoltcp(instant: smoltcp::time::Instant) -> Self {
        Instant(instant.total_micros().max(0) as u64)
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros)
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis * 1_000)
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs * 1_000_000)
    }

    /// A duration from fractional seconds, rounded to the nearest microsecond; negative and
    /// non-finite inputs give zero.
    pub fn from_secs_f64(secs: f64) -> Self {
        if secs.is_finite() && secs > 0.0 {
            Duration((secs * 1e6).round().min(u64::MAX as f64) as u64)
        } else {
            Duration(0)
        }
    }

    /// Whole microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole milliseconds, rounded down.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// Seconds as a float (for display and rates only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Milliseconds as a float (for display and reports).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }

    /// Multiplies by a non-negative factor, rounding to the nearest microsecond.
    pub fn mul_f64(self, factor: f64) -> Self {
        Duration::from_secs_f64(self.as_secs_f64() * factor)
    }

    /// Converts to smoltcp's duration type.
    pub fn to_smoltcp(self) -> smoltcp::time::Duration {
        smoltcp::time::Duration::from_micros(self.0)
    }

    /// Parses the text form: a non-negative number and a unit (`us`, `ms`, `s`, `min`).
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or(DurationError::MissingUnit)?;
        let (number, unit) = text.split_at(split);
        if number.is_empty() || number == "." {
            return Err(DurationError::MissingNumber);
        }
        let scale: u64 = match unit.trim() {
            "us" | "µs" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "min" => 60_000_000,
            _ => return Err(DurationError::UnknownUnit),
        };
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number, ""),
        };
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| DurationError::TooLarge)?
        };
        let mut micros = whole.checked_mul(scale).ok_or(DurationError::TooLarge)?;
        // Fractional digits, exactly: each digit is worth scale / 10^k microseconds.
        let mut place = scale;
        for digit in frac.bytes() {
            if !digit.is_ascii_digit() {
                return Err(DurationError::MissingNumber);
            }
            let d = u64::from(digit - b'0');
            if !place.is_multiple_of(10) {
                if d != 0 {
                    return Err(DurationError::TooPrecise);
                }
                continue;
            }
            place /= 10;
            micros = micros
                .checked_add(d * place)
                .ok_or(DurationError::TooLarge)?;
        }
        Ok(Duration(micros))
    }
}

/// Why a duration's text form was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// No unit after the number.
    MissingUnit,
    /// The unit is not one of `us`, `ms`, `s`, `min`.
    UnknownUnit,
    /// No digits before the unit.
    MissingNumber,
    /// The value does not fit in 64 bits of microseconds.
    TooLarge,
    /// The value is finer than a microsecond.
    TooPrecise,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationError::MissingUnit => "a duration needs a unit: us, ms, s or min (\"250ms\")",
            DurationError::UnknownUnit => "unknown unit: use us, ms, s or min (\"250ms\")",
            DurationError::MissingNumber => "a duration is a number and a unit (\"1.5s\")",
            DurationError::TooLarge => "duration too large",
            DurationError::TooPrecise => "a duration cannot be finer than a microsecond",
        })
    }
}

impl std::error::Error for DurationError {}

impl fmt::Display for Duration {
    /// The shortest exact text form: `0s`, `250ms`, `1.5s`, `17us`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            f.write_str("0s")
        } else if us.is_multiple_of(1_000_000) {
            write!(f, "{}s", us / 1_000_000)
        } else if us >= 1_000_000 && us.is_multiple_of(1_000) {
            let ms = us / 1_000;
            let text = format!("{}.{:03}", ms / 1_000, ms % 1_000);
            write!(f, "{}s", text.trim_end_matches('0'))
        } else if us.is_multiple_of(1_000) {
            write!(f, "{}ms", us / 1_000)
        } else if us >= 1_000 {
            let text = format!("{}.{:03}", us / 1_000, us % 1_000);
            write!(f, "{}ms", text.trim_end_matches('0'))
        } else {
            write!(f, "{us}us")
        }
    }
}

impl fmt::Display for Instant {
    /// Seconds with microsecond precision: `12.000350s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the start of the world.
    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_sub(rhs.0))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, like [`Instant::saturating_since`].
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_sub(rhs.0))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Duration::parse(&text).map_err(|e| serde::de::Error::custom(format!("{e}, got {text:?}")))
    }
}

impl Serialize for Instant {
    /// Instants are serialised as whole microseconds so reports stay exact.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Instant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_exactly() {
        let cases = [
            ("17us", 17),
            ("250ms", 250_000),
            ("1.5s", 1_500_000),
            ("0.000001s", 1),
            ("2min", 120_000_000),
            (" 3 s ", 3_000_000),
            (".5s", 500_000),
            ("1.25ms", 1_250),
        ];
        for (text, micros) in cases {
            assert_eq!(
                Duration::parse(text),
                Ok(Duration::from_micros(micros)),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_text_with_a_reason() {
        assert_eq!(Duration::parse("5"), Err(DurationError::MissingUnit));
        assert_eq!(Duration::parse("5h"), Err(DurationError::UnknownUnit));
        assert_eq!(Duration::parse("ms"), Err(DurationError::MissingNumber));
        assert_eq!(Duration::parse("0.5us"), Err(DurationError::TooPrecise));
        assert_eq!(
            Duration::parse("99999999999999999999s"),
            Err(DurationError::TooLarge)
        );
        assert_eq!(Duration::parse("-1s"), Err(DurationError::MissingNumber));
    }

    #[test]
    fn display_round_trips() {
        for micros in [
            0, 1, 999, 1_000, 1_001, 1_500, 999_999, 1_000_000, 1_500_000, 61_000_123,
        ] {
            let d = Duration::from_micros(micros);
            assert_eq!(Duration::parse(&d.to_string()), Ok(d), "{d}");
        }
        assert_eq!(Duration::from_millis(1_500).to_string(), "1.5s");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let t = Instant::from_secs(1);
        assert_eq!(t - Instant::from_secs(2), Duration::ZERO);
        assert_eq!(
            Instant::from_micros(u64::MAX) + Duration::from_secs(1),
            Instant::from_micros(u64::MAX)
        );
        assert_eq!(t.to_string(), "1.000000s");
    }
}
