//! Importing saved API responses: a body exactly as the API returns it, or a
//! `{request, status, body}` capture, through the same parsers, extractor and store as a fetch.

use super::{JobContext, JobError};
use crate::api::{models, Endpoint};
use crate::extract;
use crate::rows::UnitOfWork;

/// Imports one saved response. `endpoint` overrides recognition from the envelope.
pub async fn import_document(
    ctx: &mut JobContext<'_>,
    name: &str,
    text: &str,
    endpoint: Option<Endpoint>,
) -> Result<(), JobError> {
    let payload_error = |reason: String| JobError::Payload {
        path: name.to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| payload_error(format!("not JSON: {e}")))?;
    // A capture wraps the body: {request, status, body}. A captured error response carries
    // no data: it is reported as missing, not parsed.
    let body = match (&value, value.get("body"), value.get("status")) {
        (serde_json::Value::Object(_), Some(body), Some(status)) => {
            let status = status.as_u64().unwrap_or(0);
            if !(200..300).contains(&status) {
                ctx.report
                    .missing
                    .push(format!("{name} (captured HTTP status {status})"));
                return Ok(());
            }
            body.clone()
        }
        _ => value,
    };
    let endpoint = endpoint
        .or_else(|| models::detect_endpoint(&body))
        .ok_or_else(|| {
            payload_error("cannot tell which endpoint this body came from; pass --endpoint".into())
        })?;
    let body_text = body.to_string();
    let parse_err = |e: models::ParseError| payload_error(e.to_string());
    let mut unit: UnitOfWork = match endpoint {
        Endpoint::RacecardsPro => {
            let page = models::parse_racecards_page(&body_text).map_err(parse_err)?;
            ctx.report.unknown_fields += page.unknown_fields;
            extract::extract_racecards(&page, name)
        }
        Endpoint::Results => {
            let page = models::parse_results_page(&body_text).map_err(parse_err)?;
            ctx.report.unknown_fields += page.unknown_fields;
            extract::extract_results(&page, name)
        }
        Endpoint::RacecardPro => {
            let page = models::parse_racecard(&body_text).map_err(parse_err)?;
            extract::extract_racecards(&page, name)
        }
        Endpoint::Result => {
            let page = models::parse_result(&body_text).map_err(parse_err)?;
            extract::extract_results(&page, name)
        }
        Endpoint::Courses => {
            let page = models::parse_courses_page(&body_text).map_err(parse_err)?;
            extract::extract_courses(&page, name)
        }
        Endpoint::Regions => {
            let page = models::parse_regions(&body_text).map_err(parse_err)?;
            extract::extract_regions(&page, name)
        }
        Endpoint::HorsePro => {
            let profile = models::parse_horse_pro(&body_text).map_err(parse_err)?;
            extract::extract_horse_profile(&profile, chrono::Utc::now(), name)
        }
        Endpoint::RacecardSummaries => {
            return Err(payload_error(
                "racecard summaries carry no rows Paddock stores; nothing to import".into(),
            ))
        }
    };
    super::late_non_runners::add_late_non_runners(ctx.store, &mut unit, name).await?;
    ctx.apply(&unit).await?;
    Ok(())
}
