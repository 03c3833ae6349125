//! The parsers' tests, by value.

use super::*;
use chrono::NaiveDate;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn numbers_arrive_as_text() {
    assert_eq!(int("7"), Ok(Some(7)));
    assert_eq!(int(" 147 "), Ok(Some(147)));
    assert_eq!(int("12.0"), Ok(Some(12)));
    assert_eq!(decimal("4.75"), Ok(Some(4.75)));
}

#[test]
fn en_dash_is_missing() {
    assert_eq!(missing("–"), None);
    assert_eq!(int("–"), Ok(None));
    assert_eq!(decimal("–"), Ok(None));
    assert_eq!(position("–"), None);
}

#[test]
fn hyphen_empty_and_blank_are_missing() {
    for s in ["", "-", "  ", "—"] {
        assert_eq!(missing(s), None, "{s:?}");
        assert_eq!(int(s), Ok(None), "{s:?}");
    }
    assert_eq!(missing(" Good "), Some("Good"));
}

#[test]
fn garbage_number_is_an_error_not_missing() {
    assert!(int("abc").is_err());
    assert!(decimal("1.2.3").is_err());
    assert!(decimal("inf").is_err());
    assert!(lbs("abc").is_err());
    assert!(lbs("900").is_err());
}

#[test]
fn decimal_accepts_leading_point() {
    assert_eq!(decimal(".5"), Ok(Some(0.5)));
    assert_eq!(decimal(".75"), Ok(Some(0.75)));
    assert_eq!(decimal("-0.5"), Ok(Some(-0.5)));
}

#[test]
fn nr_number_is_non_runner() {
    assert_eq!(
        number("NR"),
        Ok(RunnerNumber {
            number: None,
            non_runner: true
        })
    );
    assert_eq!(
        number("7"),
        Ok(RunnerNumber {
            number: Some(7),
            non_runner: false
        })
    );
    assert!(number("seven").is_err());
}

#[test]
fn draw_zero_is_none() {
    assert_eq!(draw("0"), Ok(None));
    assert_eq!(draw(""), Ok(None));
    assert_eq!(draw("11"), Ok(Some(11)));
}

#[test]
fn numbered_position_is_finished() {
    let p = position("3").unwrap();
    assert_eq!(p.number, Some(3));
    assert_eq!(p.status, FinishStatus::Finished);
    assert_eq!(p.raw, "3");
    assert_eq!(position("1=").unwrap().number, Some(1));
}

#[test]
fn pulled_up_keeps_raw_code_and_status() {
    let p = position("PU").unwrap();
    assert_eq!(p.number, None);
    assert_eq!(p.raw, "PU");
    assert_eq!(p.status, FinishStatus::PulledUp);
    assert_eq!(p.status.as_str(), "pulled_up");
}

#[test]
fn every_position_code_has_a_status() {
    let cases = [
        ("PU", FinishStatus::PulledUp),
        ("UR", FinishStatus::UnseatedRider),
        ("U", FinishStatus::UnseatedRider),
        ("F", FinishStatus::Fell),
        ("BD", FinishStatus::BroughtDown),
        ("RO", FinishStatus::RanOut),
        ("RR", FinishStatus::RefusedToRace),
        ("REF", FinishStatus::Refused),
        ("SU", FinishStatus::SlippedUp),
        ("CO", FinishStatus::CarriedOut),
        ("DSQ", FinishStatus::Disqualified),
        ("VO", FinishStatus::Void),
        ("pu", FinishStatus::PulledUp),
    ];
    for (code, status) in cases {
        let p = position(code).unwrap();
        assert_eq!(p.status, status, "{code}");
        assert_eq!(p.raw, code);
        assert_eq!(p.number, None);
    }
    assert_eq!(FinishStatus::UnseatedRider.as_str(), "unseated_rider");
    assert_eq!(FinishStatus::RefusedToRace.as_str(), "refused_to_race");
}

#[test]
fn died_free_text_position() {
    let p = position("Died after the third fence").unwrap();
    assert_eq!(p.status, FinishStatus::Other);
    assert_eq!(p.raw, "Died after the third fence");
    assert_eq!(p.number, None);
}

#[test]
fn off_time_twelve_hour_is_not_used_for_the_start() {
    // `off` says "7:45" for an evening race; only `off_dt` names the instant.
    let start = instant("2031-06-04T19:45:00+01:00").unwrap().unwrap();
    assert_eq!(start.to_rfc3339(), "2031-06-04T18:45:00+00:00");
    assert!(instant("7:45").is_err());
}

#[test]
fn off_dt_keeps_its_offset_and_refuses_none() {
    let winter = instant("2031-01-10T13:05:00+00:00").unwrap().unwrap();
    assert_eq!(winter.to_rfc3339(), "2031-01-10T13:05:00+00:00");
    assert!(instant("2031-01-10T13:05:00").is_err());
}

#[test]
fn irish_prize_is_euros() {
    let m = money("€6150", Currency::GBP).unwrap().unwrap();
    assert_eq!(m.currency, Currency::EUR);
    assert_eq!(m.amount.to_string(), "6150");
    let m = money("5120.50", Currency::for_region("IRE"))
        .unwrap()
        .unwrap();
    assert_eq!(m.currency, Currency::EUR);
    assert_eq!(m.currency.code(), "EUR");
    // Exact: pence survive, trailing zeros do not make a different amount.
    assert_eq!(m.amount.to_string(), "5120.5");
    let sum = money("0.10", Currency::GBP).unwrap().unwrap().amount
        + money("0.20", Currency::GBP).unwrap().unwrap().amount;
    assert_eq!(
        sum.to_string(),
        "0.3",
        "no binary rounding: 0.1 + 0.2 is 0.3"
    );
    assert!(money("-5", Currency::GBP).is_err());
}

#[test]
fn british_prize_without_symbol_is_in_the_default_currency() {
    let m = money("2871.46", Currency::for_region("GB"))
        .unwrap()
        .unwrap();
    assert_eq!(m.currency, Currency::GBP);
    assert_eq!(m.amount.to_string(), "2871.46");
}

#[test]
fn money_with_thousands_separator() {
    let m = money("£5,327", Currency::EUR).unwrap().unwrap();
    assert_eq!(m.currency, Currency::GBP);
    assert_eq!(m.amount.to_string(), "5327");
    let m = money("€1,250,000", Currency::GBP).unwrap().unwrap();
    assert_eq!(m.amount.to_string(), "1250000");
    assert_eq!(money("", Currency::GBP), Ok(None));
    assert!(money("lots", Currency::GBP).is_err());
}

#[test]
fn tote_dividends_stay_text() {
    assert_eq!(tote("£2.10 £1.40"), Some("£2.10 £1.40".to_string()));
    assert_eq!(tote(""), None);
}

#[test]
fn distance_text_to_yards() {
    assert_eq!(distance_yards("2m41y"), Ok(Some(3561)));
    assert_eq!(distance_yards("1m5f187y"), Ok(Some(1760 + 5 * 220 + 187)));
    assert_eq!(distance_yards("1m"), Ok(Some(1760)));
    assert_eq!(distance_yards("5f"), Ok(Some(1100)));
    assert_eq!(distance_yards("2m½f"), Ok(Some(3520 + 110)));
    assert!(distance_yards("far").is_err());
    assert!(distance_yards("1760").is_err());
}

#[test]
fn distance_f_with_or_without_f() {
    assert_eq!(furlongs("12.0"), Ok(Some(12.0)));
    assert_eq!(furlongs("7f"), Ok(Some(7.0)));
    assert_eq!(furlongs("5½f"), Ok(Some(5.5)));
    assert!(furlongs("eight").is_err());
}

#[test]
fn finishing_time_minutes_seconds() {
    assert_eq!(finish_time_seconds("1:47.15"), Ok(Some(107.15)));
    assert_eq!(finish_time_seconds("0:59.85"), Ok(Some(59.85)));
    assert_eq!(finish_time_seconds("59.85s"), Ok(Some(59.85)));
    assert_eq!(finish_time_seconds("–"), Ok(None));
}

#[test]
fn winning_time_detail_reads_the_time_before_the_comparison() {
    assert_eq!(
        finish_time_seconds("1m 47.15s (slow by 3.20s)"),
        Ok(Some(107.15))
    );
    assert_eq!(
        finish_time_seconds("3m 8.07s (fast by 0.10s)"),
        Ok(Some(188.07))
    );
    assert_eq!(
        finish_time_seconds("59.85s (slow by 0.65s)"),
        Ok(Some(59.85))
    );
    assert!(finish_time_seconds("not timed").is_err());
}

#[test]
fn fractional_price_four_means_four_to_one() {
    let p = fraction("4").unwrap().unwrap();
    assert!(close(p.decimal, 5.0));
    assert_eq!(p.fractional, "4");
    assert!(close(fraction("11/4").unwrap().unwrap().decimal, 3.75));
    assert!(fraction("1.46").is_err());
}

#[test]
fn evens_is_two_decimal() {
    for s in ["Evens", "evs", "EvensF"] {
        assert!(close(fraction(s).unwrap().unwrap().decimal, 2.0), "{s}");
    }
    assert!(fraction("EvensF").unwrap().unwrap().favourite);
}

#[test]
fn favourite_marker_on_sp() {
    let p = fraction("15/8F").unwrap().unwrap();
    assert!(p.favourite);
    assert_eq!(p.fractional, "15/8");
    assert!(close(p.decimal, 2.875));
    assert!(fraction("5/2JF").unwrap().unwrap().favourite);
    assert!(!fraction("5/2").unwrap().unwrap().favourite);
}

#[test]
fn damsire_id_empty_is_missing() {
    assert_eq!(id(""), None);
    assert_eq!(id("dsi_12"), Some("dsi_12"));
}

#[test]
fn sex_word_and_code() {
    assert_eq!(sex_code("gelding"), Some("G"));
    assert_eq!(sex_code("Mare"), Some("M"));
    assert_eq!(sex_code("filly"), Some("F"));
    assert_eq!(sex_code("colt"), Some("C"));
    assert_eq!(sex_code("G"), Some("G"));
    assert_eq!(sex_code(""), None);
    assert_eq!(sex_code("unicorn"), None);
    assert_eq!(sex_word("G"), Some("gelding"));
    assert_eq!(sex_word("f"), Some("filly"));
}

#[test]
fn name_country_suffix_split() {
    assert_eq!(split_country("Tarn Gap (IRE)"), ("Tarn Gap", Some("IRE")));
    assert_eq!(
        split_country("Kestrel Run (GB)"),
        ("Kestrel Run", Some("GB"))
    );
    assert_eq!(split_country("Bare Name"), ("Bare Name", None));
    assert_eq!(split_country("Odd (name)"), ("Odd (name)", None));
}

#[test]
fn odds_updated_is_uk_local_time() {
    let t = uk_local("2031-07-01 15:42:19").unwrap().unwrap();
    assert_eq!(t.to_rfc3339(), "2031-07-01T14:42:19+00:00");
    let t = uk_local("2031-01-15 15:42:19").unwrap().unwrap();
    assert_eq!(t.to_rfc3339(), "2031-01-15T15:42:19+00:00");
    assert!(uk_local("15:42").is_err());
}

#[test]
fn ambiguous_autumn_hour_takes_the_earlier_instant() {
    // Clocks go back at 02:00 BST on the last Sunday of October 2030 (27th).
    let t = uk_local("2030-10-27 01:30:00").unwrap().unwrap();
    assert_eq!(t.to_rfc3339(), "2030-10-27T00:30:00+00:00");
}

#[test]
fn nonexistent_spring_hour_shifts_forward() {
    // Clocks go forward at 01:00 GMT on the last Sunday of March 2030 (31st).
    let t = uk_local("2030-03-31 01:30:00").unwrap().unwrap();
    assert_eq!(t.to_rfc3339(), "2030-03-31T01:30:00+00:00");
}

#[test]
fn weight_stones_and_pounds() {
    assert_eq!(weight_st_lbs("9-3"), Ok(Some(129)));
    assert_eq!(weight_st_lbs("10-0"), Ok(Some(140)));
    assert!(weight_st_lbs("8-15").is_err());
    assert_eq!(lbs("147"), Ok(Some(147)));
}

#[test]
fn jockey_claim_is_split_from_the_name() {
    assert_eq!(jockey_name("Pat Cooley(5)"), (Some("Pat Cooley"), Some(5)));
    assert_eq!(jockey_name("Pat Cooley"), (Some("Pat Cooley"), None));
    assert_eq!(jockey_name("NON-RUNNER(5)"), (None, Some(5)));
    assert_eq!(jockey_name("NON-RUNNER"), (None, None));
}

#[test]
fn last_run_days_before_the_other_code() {
    assert_eq!(last_run("143 (21F)"), Ok(Some(143)));
    assert_eq!(last_run("12"), Ok(Some(12)));
    assert_eq!(last_run("(47F)"), Ok(None));
    assert!(last_run("ages").is_err());
}

#[test]
fn beaten_lengths_numbers_and_abbreviations() {
    assert_eq!(lengths(".5"), Ok(Some(0.5)));
    assert_eq!(lengths("nk"), Ok(Some(0.3)));
    assert_eq!(lengths("–"), Ok(None));
    assert!(lengths("miles").is_err());
}

#[test]
fn region_code_is_lower_case() {
    assert_eq!(region_code("IRE"), Some("ire".to_string()));
    assert_eq!(region_code(""), None);
}

#[test]
fn dates_read_and_garbage_does_not() {
    assert_eq!(date("2031-02-03"), Ok(NaiveDate::from_ymd_opt(2031, 2, 3)));
    assert!(date("03/02/2031").is_err());
}

#[test]
fn non_runner_text_gives_names_and_reasons() {
    let nr = non_runners(
        "How's The Guvnor (unsuitable ground), Just King High (IRE) (travel problems), \
         Odd Job (IRE), Plain Name, Comma Case (vet, lame)",
    );
    let pairs: Vec<(&str, Option<&str>)> = nr
        .iter()
        .map(|n| (n.name.as_str(), n.reason.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("How's The Guvnor", Some("unsuitable ground")),
            ("Just King High (IRE)", Some("travel problems")),
            ("Odd Job (IRE)", None),
            ("Plain Name", None),
            ("Comma Case", Some("vet, lame")),
        ]
    );
    assert!(non_runners("").is_empty());
    assert!(non_runners("-").is_empty());
    assert_eq!(
        name_for_matching(" Just King High (IRE) "),
        "just king high"
    );
}
