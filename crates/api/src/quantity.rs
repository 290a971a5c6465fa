//! resource.Quantity parsing and formatting.
//!
//! A quantity is held exactly as a count of nano-units (10^-9), which covers every value
//! upstream can express without loss down to `1n` and up to a few thousand `Ei`. Finer inputs are
//! rounded up to the next nano-unit, as upstream does. The canonical text keeps the input's
//! format (decimal SI, binary SI or decimal exponent) like upstream's `String()`.

use std::cmp::Ordering;
use std::fmt;

/// Errors from parsing a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    #[error("quantity is too large")]
    TooLarge,
}

/// Local result type.
pub type Result<T> = std::result::Result<T, QuantityError>;

/// How a quantity is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, ... (powers of 1024).
    BinarySI,
    /// `n`, `u`, `m`, ``, `k`, `M`, ... (powers of 1000).
    DecimalSI,
    /// `1e3`, `5E-3`.
    DecimalExponent,
}

/// A parsed quantity.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;
/// Upper bound kept well inside i128 so sums of many quantities cannot overflow.
const MAX_NANOS: i128 = 1_i128 << 100;

impl Quantity {
    /// Parse upstream's quantity syntax: `100m`, `1Gi`, `1e3`, `0.5`, `+2`, `.5k`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            Some(_) => (false, s),
            None => return Err(QuantityError::Format),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(num_end);
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(QuantityError::Format);
        }
        let (base, exp, format) = parse_suffix(suffix)?;
        // value = digits * 10^(exp - frac_len) * base^k, in nanos: multiply by 10^9.
        let digits: String = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 38 {
            return Err(QuantityError::TooLarge);
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| QuantityError::Format)?
        };
        let scale10 = exp + 9 - frac_part.len() as i32;
        let mut nanos = mantissa;
        if scale10 >= 0 {
            for _ in 0..scale10 {
                nanos = nanos.checked_mul(10).ok_or(QuantityError::TooLarge)?;
            }
        } else {
            let mut div: i128 = 1;
            for _ in 0..(-scale10) {
                div = div.saturating_mul(10);
            }
            // Round up (away from zero for the magnitude) to the next nano.
            let q = nanos / div;
            nanos = if nanos % div != 0 { q + 1 } else { q };
        }
        nanos = nanos.checked_mul(base).ok_or(QuantityError::TooLarge)?;
        if nanos > MAX_NANOS {
            return Err(QuantityError::TooLarge);
        }
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// A decimal-SI quantity of `millis` thousandths (e.g. CPU).
    pub fn from_millis(millis: i64) -> Self {
        Quantity {
            nanos: i128::from(millis) * 1_000_000,
            format: Format::DecimalSI,
        }
    }

    /// A whole-unit quantity in the given format (e.g. bytes as BinarySI).
    pub fn from_value(value: i64, format: Format) -> Self {
        Quantity {
            nanos: i128::from(value) * NANO,
            format,
        }
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The format this quantity is written in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Value in thousandths, rounded up (upstream `MilliValue`), saturating at i64 bounds.
    pub fn milli_value(&self) -> i64 {
        saturate(div_ceil(self.nanos, 1_000_000))
    }

    /// Value in whole units, rounded up (upstream `Value`), saturating at i64 bounds.
    pub fn value(&self) -> i64 {
        saturate(div_ceil(self.nanos, NANO))
    }

    /// True when the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Sum, keeping this quantity's format.
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: self.format,
        }
    }

    /// Difference, keeping this quantity's format.
    pub fn sub(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: self.format,
        }
    }
}

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && a > 0 { q + 1 } else { q }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Returns (multiplier, power-of-ten exponent, format).
fn parse_suffix(suffix: &str) -> Result<(i128, i32, Format)> {
    let bin = |p: u32| Ok((1024_i128.pow(p), 0, Format::BinarySI));
    let dec = |e: i32| Ok((1, e, Format::DecimalSI));
    match suffix {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(1),
        "Mi" => bin(2),
        "Gi" => bin(3),
        "Ti" => bin(4),
        "Pi" => bin(5),
        "Ei" => bin(6),
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s[1..].parse().map_err(|_| QuantityError::Format)?;
            if !(-40..=40).contains(&e) || s[1..].is_empty() {
                return Err(QuantityError::Format);
            }
            Ok((1, e, Format::DecimalExponent))
        }
        _ => Err(QuantityError::Format),
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    /// Canonical form: no precision lost, no fraction, largest suffix possible.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let nano = NANO as u128;
        if self.format == Format::BinarySI && abs.is_multiple_of(nano) && abs / nano >= 1024 {
            let mut units = abs / nano;
            let mut power = 0;
            while power < 6 && units.is_multiple_of(1024) {
                units /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return write!(f, "{sign}{units}{suffix}");
        }
        // Decimal: exponent is a multiple of 3 from -9 upward.
        let mut mantissa = abs;
        let mut exp: i32 = -9;
        while exp < 18 && mantissa.is_multiple_of(1000) {
            mantissa /= 1000;
            exp += 3;
        }
        if self.format == Format::DecimalExponent {
            if exp == 0 {
                write!(f, "{sign}{mantissa}")
            } else {
                write!(f, "{sign}{mantissa}e{exp}")
            }
        } else {
            let suffix = match exp {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                _ => "E",
            };
            write!(f, "{sign}{mantissa}{suffix}")
        }
    }
}

/// Parse a quantity held in JSON: a string, or a number as upstream accepts.
pub fn from_json(v: &serde_json::Value) -> Option<Quantity> {
    match v {
        serde_json::Value::String(s) => Quantity::parse(s).ok(),
        serde_json::Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
