use super::*;

fn canon(s: &str) -> String {
    Quantity::parse(s)
        .map(|q| q.to_string())
        .unwrap_or_else(|e| format!("error: {e}"))
}

#[test]
fn millis_of_cpu_forms() {
    assert_eq!(Quantity::parse("100m").map(|q| q.milli_value()), Ok(100));
    assert_eq!(Quantity::parse("0.5").map(|q| q.milli_value()), Ok(500));
    assert_eq!(Quantity::parse("2").map(|q| q.milli_value()), Ok(2000));
    assert_eq!(
        Quantity::parse("1e3").map(|q| q.milli_value()),
        Ok(1_000_000)
    );
}

#[test]
fn bytes_of_memory_forms() {
    assert_eq!(Quantity::parse("1Gi").map(|q| q.value()), Ok(1 << 30));
    assert_eq!(Quantity::parse("128Mi").map(|q| q.value()), Ok(128 << 20));
    assert_eq!(Quantity::parse("1G").map(|q| q.value()), Ok(1_000_000_000));
    assert_eq!(Quantity::parse("1.5Ki").map(|q| q.value()), Ok(1536));
}

#[test]
fn value_rounds_up() {
    assert_eq!(Quantity::parse("100m").map(|q| q.value()), Ok(1));
    assert_eq!(Quantity::parse("1n").map(|q| q.milli_value()), Ok(1));
}

#[test]
fn canonical_decimal_forms() {
    assert_eq!(canon("100m"), "100m");
    assert_eq!(canon("1000m"), "1");
    assert_eq!(canon("0.5"), "500m");
    assert_eq!(canon("1.5"), "1500m");
    assert_eq!(canon("2000"), "2k");
    assert_eq!(canon("1500"), "1500");
    assert_eq!(canon("0"), "0");
    assert_eq!(canon("-100m"), "-100m");
    assert_eq!(canon("+3"), "3");
    assert_eq!(canon(".5k"), "500");
}

#[test]
fn canonical_binary_forms() {
    assert_eq!(canon("1024Mi"), "1Gi");
    assert_eq!(canon("1.5Gi"), "1536Mi");
    assert_eq!(canon("0.5Gi"), "512Mi");
    assert_eq!(canon("1Ki"), "1Ki");
    assert_eq!(canon("0.5Ki"), "512");
}

#[test]
fn canonical_exponent_forms() {
    assert_eq!(canon("1e3"), "1e3");
    assert_eq!(canon("1000e0"), "1e3");
    assert_eq!(canon("1E-3"), "1e-3");
    assert_eq!(canon("12e0"), "12");
}

#[test]
fn sub_nano_precision_rounds_up() {
    assert_eq!(canon("0.0000000001"), "1n");
}

#[test]
fn rejects_bad_syntax() {
    for bad in ["", "abc", "1.2.3", "1Zi", "--1", "1e", "m", "."] {
        assert_eq!(Quantity::parse(bad), Err(QuantityError::Format), "{bad}");
    }
}

#[test]
fn rejects_absurd_magnitudes() {
    assert_eq!(Quantity::parse("1e40"), Err(QuantityError::TooLarge));
    assert!(Quantity::parse("99999999999999999999999999999999999999999").is_err());
}

#[test]
fn compares_by_value_across_formats() {
    let a = Quantity::parse("1Ki");
    let b = Quantity::parse("1024");
    assert_eq!(a, b);
    let small = Quantity::parse("999m").unwrap();
    let one = Quantity::parse("1").unwrap();
    assert!(small < one);
}

#[test]
fn arithmetic_keeps_left_format() {
    let a = Quantity::from_value(1 << 30, Format::BinarySI);
    let b = Quantity::from_value(1 << 30, Format::BinarySI);
    assert_eq!(a.add(&b).to_string(), "2Gi");
    assert_eq!(
        Quantity::from_millis(250)
            .add(&Quantity::from_millis(250))
            .to_string(),
        "500m"
    );
    assert!(
        Quantity::from_millis(250)
            .sub(&Quantity::from_millis(250))
            .is_zero()
    );
}

#[test]
fn json_numbers_and_strings_parse() {
    assert_eq!(
        from_json(&serde_json::json!(2)).map(|q| q.milli_value()),
        Some(2000)
    );
    assert_eq!(
        from_json(&serde_json::json!("250m")).map(|q| q.milli_value()),
        Some(250)
    );
    assert_eq!(from_json(&serde_json::json!(true)), None);
}
