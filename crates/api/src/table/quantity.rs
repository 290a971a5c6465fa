//! Canonical text of resource quantities, as upstream prints them ("1536Mi", "500m", "2k").

use serde_json::Value;

use super::TableError;

const NANO: i128 = 1_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// Canonical text of a quantity value; an absent one prints "0" like upstream's zero value.
/// Text that is not a quantity is shown as it is.
pub(crate) fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "0".to_string(),
        Some(Value::String(text)) => canonical(text).unwrap_or_else(|_| text.clone()),
        Some(Value::Number(n)) => canonical(&n.to_string()).unwrap_or_else(|_| n.to_string()),
        Some(other) => other.to_string(),
    }
}

/// Like [`show`], but a missing quantity pointer prints "<nil>" as upstream's does.
pub(crate) fn show_ptr(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".to_string(),
        some => show(some),
    }
}

/// The canonical form of a quantity string.
pub(crate) fn canonical(text: &str) -> Result<String, TableError> {
    let bad = || TableError::Quantity(text.to_string());
    let (negative, nanos, format) = parse_nanos(text.trim()).ok_or_else(bad)?;
    if nanos == 0 {
        return Ok("0".to_string());
    }
    let sign = if negative { "-" } else { "" };
    let mut format = format;
    if format == Format::BinarySi && (nanos < 1024 * NANO || nanos % NANO != 0) {
        format = Format::DecimalSi;
    }
    if format == Format::BinarySi {
        let mut amount = nanos / NANO;
        let mut power = 0;
        while amount % 1024 == 0 && power < 6 {
            amount /= 1024;
            power += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
        return Ok(format!("{sign}{amount}{suffix}"));
    }
    let mut amount = nanos;
    let mut exponent: i32 = -9;
    while amount % 10 == 0 {
        amount /= 10;
        exponent += 1;
    }
    match exponent.rem_euclid(3) {
        1 => {
            amount = amount.checked_mul(10).ok_or_else(bad)?;
            exponent -= 1;
        }
        2 => {
            amount = amount.checked_mul(100).ok_or_else(bad)?;
            exponent -= 2;
        }
        _ => {}
    }
    let suffix = match format {
        Format::DecimalExponent if exponent == 0 => String::new(),
        Format::DecimalExponent => format!("e{exponent}"),
        _ => match exponent {
            -9 => "n".into(),
            -6 => "u".into(),
            -3 => "m".into(),
            0 => String::new(),
            3 => "k".into(),
            6 => "M".into(),
            9 => "G".into(),
            12 => "T".into(),
            15 => "P".into(),
            18 => "E".into(),
            other => format!("e{other}"),
        },
    };
    Ok(format!("{sign}{amount}{suffix}"))
}

/// Parses "1.5Gi" into (negative, magnitude in units of 1e-9, format). Values below a nano
/// round up to one nano, as upstream does.
fn parse_nanos(text: &str) -> Option<(bool, i128, Format)> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits = format!("{int_part}{frac_part}");
    if digits.len() > 30 {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let frac_len = i32::try_from(frac_part.len()).ok()?;
    let (format, dec_exp, bin_exp): (Format, i32, u32) = match suffix {
        "" => (Format::DecimalSi, 0, 0),
        "n" => (Format::DecimalSi, -9, 0),
        "u" => (Format::DecimalSi, -6, 0),
        "m" => (Format::DecimalSi, -3, 0),
        "k" => (Format::DecimalSi, 3, 0),
        "M" => (Format::DecimalSi, 6, 0),
        "G" => (Format::DecimalSi, 9, 0),
        "T" => (Format::DecimalSi, 12, 0),
        "P" => (Format::DecimalSi, 15, 0),
        "E" => (Format::DecimalSi, 18, 0),
        "Ki" => (Format::BinarySi, 0, 10),
        "Mi" => (Format::BinarySi, 0, 20),
        "Gi" => (Format::BinarySi, 0, 30),
        "Ti" => (Format::BinarySi, 0, 40),
        "Pi" => (Format::BinarySi, 0, 50),
        "Ei" => (Format::BinarySi, 0, 60),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            (Format::DecimalExponent, e, 0)
        }
        _ => return None,
    };
    let value = mantissa.checked_mul(1i128.checked_shl(bin_exp)?)?;
    let scale = 9 + dec_exp - frac_len;
    let nanos = if scale >= 0 {
        value.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?
    } else {
        let div = 10i128.checked_pow(u32::try_from(-scale).ok()?)?;
        let q = value / div;
        if value % div == 0 { q } else { q + 1 }
    };
    Some((negative && nanos != 0, nanos, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_match_upstream() {
        for (input, want) in [
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("1536", "1536"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("0.5", "500m"),
            ("100m", "100m"),
            ("1500m", "1500m"),
            ("2000m", "2"),
            ("1e3", "1e3"),
            ("0", "0"),
            ("0Gi", "0"),
            ("10G", "10G"),
            ("-1Gi", "-1Gi"),
            ("1.1Ki", "1126400m"),
            ("0.0000000001", "1n"),
        ] {
            assert_eq!(canonical(input).as_deref(), Ok(want), "input {input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(canonical("abc").is_err());
        assert!(canonical("1Qi").is_err());
        assert!(canonical("").is_err());
        assert_eq!(show(Some(&Value::String("abc".into()))), "abc");
        assert_eq!(show(None), "0");
        assert_eq!(show_ptr(None), "<nil>");
    }
}
