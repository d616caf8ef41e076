//! Dates without a date crate: commit times (seconds since the epoch plus the author's UTC offset)
//! as ISO 8601. Civil-date arithmetic after Howard Hinnant's
//! public-domain `civil_from_days`.

/// `2026-01-05T10:30:00+01:00` for the author's local time.
pub fn iso8601(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + i64::from(offset_minutes) * 60;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        offset / 60,
        offset % 60
    )
}

/// `2026-01-05`, in the author's local time.
pub fn date(seconds: i64, offset_minutes: i32) -> String {
    iso8601(seconds, offset_minutes)[..10].to_string()
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        // 2026-01-05T12:00:00Z
        assert_eq!(iso8601(1_767_614_400, 0), "2026-01-05T12:00:00+00:00");
        assert_eq!(iso8601(1_767_614_400, -300), "2026-01-05T07:00:00-05:00");
        assert_eq!(date(951_782_400, 0), "2000-02-29");
    }
}
