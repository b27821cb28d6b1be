//! Dates and times as users type them (`2016-11-01` or RFC 3339) and as we print them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 with any offset; the result is in UTC.
pub fn parse(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| {
            format!("'{text}' is not a date: use YYYY-MM-DD (midnight UTC) or RFC 3339, e.g. 2016-11-01T00:00:00Z")
        })
}

/// RFC 3339 in UTC with a `Z`, e.g. `2016-11-01T00:00:00Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_else(|_| t.unix_timestamp().to_string())
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
