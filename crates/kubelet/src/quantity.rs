//! Kubernetes resource quantities (`250m`, `1.5`, `128Mi`, `1e3`), parsed exactly.

use crate::error::{Error, Result};

const NANO: i128 = 1_000_000_000;

/// Parse a quantity into billionths of a unit (exact for every value Kubernetes accepts).
pub fn parse_nanos(s: &str) -> Result<i128> {
    let bad = || Error::Quantity(s.to_string());
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(num_end);
    if num.is_empty() || num == "." {
        return Err(bad());
    }
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if frac_part.contains('.') || frac_part.len() > 9 {
        return Err(bad());
    }
    let int: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let mut frac: i128 = 0;
    for (i, d) in frac_part.chars().enumerate() {
        frac += i128::from(d.to_digit(10).ok_or_else(bad)?) * 10i128.pow(8 - i as u32);
    }
    let base = int.checked_mul(NANO).ok_or_else(bad)? + frac;
    let (mul, div): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, NANO),
        "u" => (1, 1_000_000),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().map_err(|_| bad())?;
            if exp.unsigned_abs() > 18 {
                return Err(bad());
            }
            if exp >= 0 {
                (10i128.pow(exp as u32), 1)
            } else {
                (1, 10i128.pow(exp.unsigned_abs()))
            }
        }
        _ => return Err(bad()),
    };
    let v = base.checked_mul(mul).ok_or_else(bad)?;
    // Kubernetes rounds sub-nano precision up.
    let v = (v + div - 1).div_euclid(div);
    Ok(if neg { -v } else { v })
}

/// CPU in millicores, rounded up (`100m` → 100, `0.5` → 500, `1` → 1000).
pub fn cpu_millis(s: &str) -> Result<u64> {
    let n = parse_nanos(s)?;
    Ok(ceil_div(n, 1_000_000).max(0) as u64)
}

/// A quantity as a whole number of units, rounded up (`128Mi` → 134217728).
pub fn value(s: &str) -> Result<u64> {
    let n = parse_nanos(s)?;
    Ok(ceil_div(n, NANO).max(0) as u64)
}

/// `ceil(value / divisor)` as upstream's `resourceFieldRef` does: CPU compares millis,
/// everything else whole units.
pub fn divide_for_resource(resource: &str, value_q: &str, divisor_q: &str) -> Result<String> {
    let v = parse_nanos(value_q)?;
    let d = parse_nanos(divisor_q)?;
    if d <= 0 {
        return Err(Error::Quantity(divisor_q.to_string()));
    }
    let out = if resource.ends_with("cpu") {
        let vm = ceil_div(v, 1_000_000);
        let dm = ceil_div(d, 1_000_000).max(1);
        ceil_div(vm, dm)
    } else {
        let vu = ceil_div(v, NANO);
        let du = ceil_div(d, NANO).max(1);
        ceil_div(vu, du)
    };
    Ok(out.to_string())
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) != 0 { q + 1 } else { q }
}

/// Bytes as a `Ki` quantity string, the way the kubelet reports memory capacity.
pub fn kibibytes(bytes: u64) -> String {
    format!("{}Ki", bytes / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_forms() {
        assert_eq!(cpu_millis("100m").unwrap(), 100);
        assert_eq!(cpu_millis("0.5").unwrap(), 500);
        assert_eq!(cpu_millis("2").unwrap(), 2000);
        assert_eq!(cpu_millis("1.0001").unwrap(), 1001);
        assert_eq!(cpu_millis("250000u").unwrap(), 250);
    }

    #[test]
    fn parses_memory_forms() {
        assert_eq!(value("128Mi").unwrap(), 134_217_728);
        assert_eq!(value("1G").unwrap(), 1_000_000_000);
        assert_eq!(value("1e3").unwrap(), 1000);
        assert_eq!(value("1.5Ki").unwrap(), 1536);
        assert_eq!(value("100m").unwrap(), 1);
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "abc", "1x", "1.2.3", "Mi", "1e99"] {
            assert!(parse_nanos(s).is_err(), "{s}");
        }
    }

    #[test]
    fn divides_like_resource_field_ref() {
        assert_eq!(
            divide_for_resource("limits.cpu", "250m", "1m").unwrap(),
            "250"
        );
        assert_eq!(divide_for_resource("limits.cpu", "250m", "1").unwrap(), "1");
        assert_eq!(
            divide_for_resource("limits.memory", "64Mi", "1Mi").unwrap(),
            "64"
        );
        assert_eq!(
            divide_for_resource("requests.memory", "1000", "1k").unwrap(),
            "1"
        );
        assert!(divide_for_resource("limits.cpu", "1", "0").is_err());
    }
}
