//! Cron schedule syntax as the CronJob controller accepts it.

/// Standard 5-field cron or a descriptor, as the cronjob controller's parser accepts.
pub fn check_schedule(schedule: &str) -> Result<(), String> {
    let sched = schedule.trim();
    if sched.contains("TZ") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    if let Some(d) = sched.strip_prefix('@') {
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {sched}")),
        };
    }
    let fields: Vec<&str> = sched.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: {sched}",
            fields.len()
        ));
    }
    const BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    for (i, field) in fields.iter().enumerate() {
        let (lo, hi) = BOUNDS[i];
        let value = |t: &str| -> Result<u32, String> {
            let lower = t.to_ascii_lowercase();
            let named = match i {
                3 => MONTHS
                    .iter()
                    .position(|m| *m == lower)
                    .map(|p| p as u32 + 1),
                4 => DAYS.iter().position(|d| *d == lower).map(|p| p as u32),
                _ => None,
            };
            let n = match named {
                Some(n) => n,
                None => t.parse::<u32>().map_err(|_| {
                    format!(
                        "failed to parse int from {t}: strconv.Atoi: parsing {t:?}: invalid syntax"
                    )
                })?,
            };
            if n < lo || n > hi {
                return Err(format!("end of range ({n}) above maximum ({hi}): {t}"));
            }
            Ok(n)
        };
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, st)) => (r, Some(st)),
                None => (part, None),
            };
            if let Some(st) = step {
                let n: u32 = st
                    .parse()
                    .map_err(|_| format!("failed to parse int from {st}: strconv.Atoi: parsing {st:?}: invalid syntax"))?;
                if n == 0 {
                    return Err(format!("step of range should be a positive number: {part}"));
                }
            }
            if range == "*" || range == "?" {
                continue;
            }
            match range.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(a)?, value(b)?);
                    if a > b {
                        return Err(format!(
                            "beginning of range ({a}) beyond end of range ({b}): {part}"
                        ));
                    }
                }
                None => {
                    value(range)?;
                }
            }
        }
    }
    Ok(())
}
