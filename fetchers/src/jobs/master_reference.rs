//! MasterReference (monthly): regions, courses for the configured regions, and the configured
//! bookmakers (bookmakers seen in odds are added by RacesAndRunners as they appear).

use super::accounting::{record_table, Tally};
use super::{check_query_echo, JobContext, JobError};
use crate::api::{models, ApiRequest};
use crate::extract;
use crate::rows::UnitOfWork;

/// Runs MasterReference: three units of work (regions, courses, bookmakers).
pub async fn master_reference(
    ctx: &mut JobContext<'_>,
    bookmakers: &[String],
) -> Result<(), JobError> {
    let request = ApiRequest::Regions;
    let response = ctx.fetch(&request).await?;
    let regions = models::parse_regions(&response.body).map_err(|e| JobError::Payload {
        path: response.path_and_query.clone(),
        reason: e.to_string(),
    })?;
    ctx.report.unknown_fields += regions.unknown_fields;
    let unit = extract::extract_regions(&regions, &response.path_and_query);
    ctx.apply(&unit).await?;

    let request = ApiRequest::Courses {
        region_codes: ctx.regions.clone(),
    };
    let response = ctx.fetch(&request).await?;
    let courses = models::parse_courses_page(&response.body).map_err(|e| JobError::Payload {
        path: response.path_and_query.clone(),
        reason: e.to_string(),
    })?;
    check_query_echo(&request, &courses.query)?;
    ctx.report.unknown_fields += courses.unknown_fields;
    let unit = extract::extract_courses(&courses, &response.path_and_query);
    let counts = ctx.apply(&unit).await?;
    let records = courses.records.len() as u64;
    Tally::of_page(records, record_table(request.endpoint()), &unit, &counts)
        .check(&response.path_and_query, Some(courses.total))?;

    let unit = UnitOfWork {
        rows: extract::extract_bookmakers(bookmakers),
        ..Default::default()
    };
    ctx.apply(&unit).await?;
    Ok(())
}
