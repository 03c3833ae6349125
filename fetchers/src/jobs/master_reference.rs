//! MasterReference (monthly): regions, courses for the configured regions, and the configured
//! bookmakers (bookmakers seen in odds are added by RacesAndRunners as they appear).

use super::accounting::{record_table, Tally};
use super::{JobContext, JobError};
use crate::api::ApiRequest;
use crate::extract;
use crate::rows::UnitOfWork;

/// Runs MasterReference: three units of work (regions, courses, bookmakers).
pub async fn master_reference(
    ctx: &mut JobContext<'_>,
    bookmakers: &[String],
) -> Result<(), JobError> {
    let regions = ctx.fetch_page(&ApiRequest::Regions).await?;
    ctx.apply(&regions.unit).await?;

    let request = ApiRequest::Courses {
        region_codes: ctx.regions.clone(),
    };
    let courses = ctx.fetch_page(&request).await?;
    let counts = ctx.apply(&courses.unit).await?;
    Tally::of_page(
        courses.records,
        record_table(request.endpoint()),
        &courses.unit,
        &counts,
    )
    .check(&request.path_and_query(), Some(courses.total))?;

    let unit = UnitOfWork {
        rows: extract::extract_bookmakers(bookmakers),
        ..Default::default()
    };
    ctx.apply(&unit).await?;
    Ok(())
}
