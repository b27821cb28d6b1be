//! Dates and times as users type them (`2016-11-01` or RFC 3339) and as we print them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 with any offset; the result is in UTC.
pub fn parse(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    let rfc3339 = |text| OffsetDateTime::parse(text, &Rfc3339).map(|t| t.to_offset(UtcOffset::UTC));
    // A time has a `T` that a date cannot have: try it first (a manifest has 100,000s).
    if text.contains(['T', 't']) {
        if let Ok(t) = rfc3339(text) {
            return Ok(t);
        }
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    rfc3339(text).map_err(|_| {
        format!("'{text}' is not a date: use YYYY-MM-DD (midnight UTC) or RFC 3339, e.g. 2016-11-01T00:00:00Z")
    })
}

/// RFC 3339 in UTC with a `Z`, e.g. `2016-11-01T00:00:00Z`. Written by hand: it runs several
/// times per record, and the generic formatter dominated profiles of large scans.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = if t.offset().is_utc() {
        t
    } else {
        t.to_offset(UtcOffset::UTC)
    };
    // The calendar date once (each of `month()` and `day()` works it out from the day of the
    // year again).
    let (year, month, day) = t.to_calendar_date();
    if !(0..=9999).contains(&year) {
        return t.unix_timestamp().to_string();
    }
    let (hour, minute, second) = t.to_hms();
    let mut b = *b"0000-00-00T00:00:00Z";
    let put = |b: &mut [u8; 20], at: usize, width: usize, mut v: u32| {
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(&mut b, 0, 4, year as u32);
    put(&mut b, 5, 2, u32::from(u8::from(month)));
    put(&mut b, 8, 2, u32::from(day));
    put(&mut b, 11, 2, u32::from(hour));
    put(&mut b, 14, 2, u32::from(minute));
    put(&mut b, 17, 2, u32::from(second));
    // ASCII digits only, so this never falls back; `from_utf8_lossy` walked the bytes as
    // chunks and then copied them (1.6 % of a large scan's instructions).
    String::from_utf8(b.to_vec()).unwrap_or_default()
}

/// `YYYY-MM-DD` in UTC, for tables and reasons.
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Whole days from `now` to `then`, rounded toward negative infinity (−1 the second it expires).
pub fn days_between(now: OffsetDateTime, then: OffsetDateTime) -> i64 {
    (then - now).whole_seconds().div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_offsets_to_utc() {
        assert_eq!(
            rfc3339(parse("2016-11-01").unwrap()),
            "2016-11-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(parse("2015-06-15T12:00:00+02:00").unwrap()),
            "2015-06-15T10:00:00Z"
        );
        assert!(parse("2016-13-01").is_err());
        assert!(parse("yesterday")
            .unwrap_err()
            .contains("'yesterday' is not a date"));
    }

    #[test]
    fn rfc3339_pads_every_field() {
        assert_eq!(
            rfc3339(parse("0999-01-02T03:04:05Z").unwrap()),
            "0999-01-02T03:04:05Z"
        );
        assert_eq!(
            rfc3339(parse("2099-12-31T23:59:59Z").unwrap()),
            "2099-12-31T23:59:59Z"
        );
    }

    #[test]
    fn days_round_down() {
        let now = parse("2020-01-01").unwrap();
        assert_eq!(days_between(now, parse("2020-01-02").unwrap()), 1);
        assert_eq!(days_between(now, parse("2020-01-01T23:59:59Z").unwrap()), 0);
        assert_eq!(
            days_between(now, parse("2019-12-31T23:59:59Z").unwrap()),
            -1
        );
    }
}
