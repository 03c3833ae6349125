//! Importing saved API responses: a body exactly as the API returns it, or a
//! `{request, status, body}` capture, through the same parsers, extractor and store as a fetch.

use super::endpoints::{self, ReadError};
use super::{JobContext, JobError};
use crate::api::{models, Endpoint};

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
    let page = endpoints::read(endpoint, &body.to_string(), name, chrono::Utc::now()).map_err(
        |e| match e {
            ReadError::NothingToStore(_) => payload_error(format!("{e}; nothing to import")),
            ReadError::Parse(e) => payload_error(e.to_string()),
        },
    )?;
    ctx.report.unknown_fields += page.unknown_fields;
    let mut unit = page.unit;
    super::late_non_runners::add_late_non_runners(ctx.store, &mut unit, name).await?;
    ctx.apply(&unit).await?;
    Ok(())
}
