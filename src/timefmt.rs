//! Dates and times as users type them (`2016-11-01` or RFC 3339) and as we print them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 with any offset; the result is in UTC.
pub fn parse(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    let parse_rfc3339 =
        |text| OffsetDateTime::parse(text, &Rfc3339).map(|t| t.to_offset(UtcOffset::UTC));
    // A time has a `T` that a date cannot have: try it first (a manifest has 100,000s).
    if text.contains(['T', 't']) {
        if let Ok(t) = parse_rfc3339(text) {
            return Ok(t);
        }
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    // Any separator, not only `T` (RFC 3339 allows a space there).
    parse_rfc3339(text).map_err(|_| {
        format!("'{text}' is not a date: use YYYY-MM-DD (midnight UTC) or RFC 3339, e.g. 2016-11-01T00:00:00Z")
    })
}

/// "00" to "99".
const TWO_DIGITS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

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
    // Two digits at a time from a table: the digit-by-digit loop was its largest part.
    let put = |b: &mut [u8; 20], at: usize, v: u8| {
        let v = usize::from(v % 100) * 2;
        b[at..at + 2].copy_from_slice(&TWO_DIGITS[v..v + 2]);
    };
    put(&mut b, 0, (year / 100) as u8);
    put(&mut b, 2, (year % 100) as u8);
    put(&mut b, 5, u8::from(month));
    put(&mut b, 8, day);
    put(&mut b, 11, hour);
    put(&mut b, 14, minute);
    put(&mut b, 17, second);
    // ASCII digits only, so this never falls back (`from_utf8_lossy` walked the bytes as
    // chunks, then copied them).
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
    fn rfc3339_agrees_with_the_time_crate_from_year_0_to_9999() {
        use time::format_description::well_known::Rfc3339;
        let first = time::macros::datetime!(0000-01-01 00:00:00 UTC).unix_timestamp();
        let last = time::macros::datetime!(9999-12-31 23:59:59 UTC).unix_timestamp();
        // A step that is not a whole number of minutes, hours or days, so every field moves.
        let mut at = first;
        let mut checked = 0;
        while at <= last {
            let t = OffsetDateTime::from_unix_timestamp(at).unwrap();
            assert_eq!(rfc3339(t), t.format(&Rfc3339).unwrap(), "at {at}");
            at += 31_557_601;
            checked += 1;
        }
        assert!(checked > 9_000, "{checked}");
        // Before year 0 there is no RFC 3339 form: the Unix time instead.
        let t = time::macros::datetime!(-0001-12-31 23:59:59 UTC);
        assert_eq!(rfc3339(t), t.unix_timestamp().to_string());
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
