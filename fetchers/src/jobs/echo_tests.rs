//! Tests of the query echo check ([`super::check_query_echo`]): what the API says it applied
//! must include every parameter sent, on every endpoint that echoes.

use super::{check_query_echo, JobError};
use crate::api::ApiRequest;
use chrono::NaiveDate;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 10, 7).unwrap()
}

fn results() -> ApiRequest {
    ApiRequest::Results {
        start_date: day(),
        end_date: day(),
        regions: vec!["gb".into(), "ire".into()],
        limit: 50,
        skip: 0,
    }
}

fn racecards() -> ApiRequest {
    ApiRequest::RacecardsPro {
        date: day(),
        region_codes: vec!["gb".into()],
        limit: 500,
        skip: 0,
    }
}

fn courses() -> ApiRequest {
    ApiRequest::Courses {
        region_codes: vec!["gb".into()],
    }
}

/// The echo the API would send for `request`, in its own order.
fn faithful_echo(request: &ApiRequest) -> Vec<(String, String)> {
    let mut echo: Vec<(String, String)> = request
        .query()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    echo.reverse();
    echo
}

fn is_mismatch(result: Result<(), JobError>) -> bool {
    matches!(result, Err(JobError::QueryMismatch { .. }))
}

#[test]
fn a_faithful_echo_in_any_order_passes_on_every_echoing_endpoint() {
    for request in [results(), racecards(), courses()] {
        check_query_echo(&request, &faithful_echo(&request)).unwrap();
    }
}

#[test]
fn an_echo_without_a_parameter_that_was_sent_fails() {
    for request in [results(), racecards(), courses()] {
        let mut echo = faithful_echo(&request);
        // The API ignored the region filter: it is missing from the echo (a bogus key the
        // API did apply keeps the echo non-empty, as an ignored misspelt one would be).
        echo.retain(|(k, _)| k != "region" && k != "region_codes");
        echo.push(("regions".into(), "gb".into()));
        let err = check_query_echo(&request, &echo).unwrap_err();
        assert!(
            err.to_string().contains("refusing unfiltered data"),
            "{err}"
        );
    }
}

#[test]
fn an_echo_with_a_different_value_fails() {
    let request = results();
    let mut echo = faithful_echo(&request);
    for (k, v) in &mut echo {
        if k == "start_date" {
            *v = "2025-10-06".into();
        }
    }
    assert!(is_mismatch(check_query_echo(&request, &echo)));
}

#[test]
fn an_empty_or_missing_echo_fails_where_the_endpoint_always_echoes() {
    for request in [results(), racecards()] {
        let err = check_query_echo(&request, &[]).unwrap_err();
        assert!(err.to_string().contains("no echo at all"), "{err}");
    }
}

#[test]
fn endpoints_that_do_not_echo_accept_an_empty_echo() {
    check_query_echo(&courses(), &[]).unwrap();
    check_query_echo(&ApiRequest::Regions, &[]).unwrap();
    check_query_echo(
        &ApiRequest::HorsePro {
            horse_id: "hrs_1".into(),
        },
        &[],
    )
    .unwrap();
}
