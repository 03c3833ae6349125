//! Reference data with [`Source::Reference`]: regions, courses and the configured bookmakers.
//! (Bookmakers first seen in racecard odds are added by the racecard extractor.)

use super::{id, record_reject, reject, text, Problems};
use crate::api::models::{CoursePayload, Page, RegionPayload};
use crate::api::parse;
use crate::registry::{names, Source};
use crate::rows::{Row, UnitOfWork};
use std::collections::BTreeSet;

const SRC: Source = Source::Reference;

/// The stable id Paddock gives a bookmaker, from its name: lower case, every run of
/// non-alphanumerics one `-` (`"Fenwick Hill"` → `"fenwick-hill"`, `"Punt365"` → `"punt365"`).
pub fn bookmaker_id(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// The configured bookmakers, one row each (names that slug to nothing are skipped).
pub fn extract_bookmakers(names: &[String]) -> Vec<Row> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .filter_map(|name| {
            let id = bookmaker_id(name);
            (!id.is_empty() && seen.insert(id.clone())).then(|| {
                Row::new(names::BOOKMAKERS, SRC)
                    .set("id", id)
                    .set("name", name.trim())
            })
        })
        .collect()
}

/// `/courses/regions`: one `ra_regions` row per region (code lower-cased).
pub fn extract_regions(page: &Page<RegionPayload>, endpoint_path: &str) -> UnitOfWork {
    let mut unit = UnitOfWork::default();
    for record in &page.records {
        match record {
            Ok(r) => match parse::region_code(r.region_code.as_deref().unwrap_or("")) {
                Some(code) => unit.push(
                    Row::new(names::REGIONS, SRC)
                        .set("code", code)
                        .set("name", text(&r.region)),
                ),
                None => unit.rejects.push(reject(
                    endpoint_path,
                    "region",
                    None,
                    "region_code: missing (a region needs its code)".into(),
                    &r.raw,
                    names::REGIONS,
                )),
            },
            Err(e) => unit
                .rejects
                .push(record_reject(e, endpoint_path, names::REGIONS)),
        }
    }
    unit
}

/// `/courses`: each course, with its region (code and name).
pub fn extract_courses(page: &Page<CoursePayload>, endpoint_path: &str) -> UnitOfWork {
    let mut unit = UnitOfWork::default();
    for record in &page.records {
        let c = match record {
            Ok(c) => c,
            Err(e) => {
                unit.rejects
                    .push(record_reject(e, endpoint_path, names::COURSES));
                continue;
            }
        };
        let mut p = Problems::default();
        let course_id = p.require("id", id(&c.id), "a course needs its id");
        let name = p.require("course", text(&c.course), "a course needs a name");
        if let Some(reason) = p.reason() {
            unit.rejects.push(reject(
                endpoint_path,
                "course",
                id(&c.id),
                reason,
                &c.raw,
                names::COURSES,
            ));
            continue;
        }
        let region = parse::region_code(c.region_code.as_deref().unwrap_or(""));
        if let Some(code) = &region {
            unit.push(
                Row::new(names::REGIONS, SRC)
                    .set("code", code.as_str())
                    .set("name", text(&c.region)),
            );
        }
        unit.push(
            Row::new(names::COURSES, SRC)
                .set("id", course_id)
                .set("name", name)
                .set("region_code", region),
        );
    }
    unit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::{parse_courses_page, parse_regions};
    use crate::extract::testkit::{assert_sound, find};
    use crate::rows::Value;

    #[test]
    fn bookmaker_ids_are_stable_slugs() {
        assert_eq!(bookmaker_id("Punt365"), "punt365");
        assert_eq!(bookmaker_id("Fenwick Hill"), "fenwick-hill");
        assert_eq!(bookmaker_id("QuickSILVER Bets"), "quicksilver-bets");
        assert_eq!(bookmaker_id(" Paddy  & Co. "), "paddy-co");
        assert_eq!(bookmaker_id("--"), "");
    }

    #[test]
    fn configured_bookmakers_are_reference_rows_once_each() {
        let rows = extract_bookmakers(&["Punt365".into(), "Fenwick Hill".into(), "punt365".into()]);
        assert_eq!(rows.len(), 2);
        assert!(rows
            .iter()
            .all(|r| r.source == Source::Reference && r.validate().is_ok()));
        assert_eq!(rows[1].values["id"], Value::from("fenwick-hill"));
    }

    #[test]
    fn regions_and_courses_are_reference_rows_with_lower_case_codes() {
        let regions = parse_regions(
            r#"[{"region":"Great Britain","region_code":"GB"},{"region":"Nowhere","region_code":""}]"#,
        )
        .unwrap();
        let unit = extract_regions(&regions, "/courses/regions");
        assert_sound(&unit);
        assert_eq!(
            find(&unit, "ra_regions", &["gb"]).unwrap().values["name"],
            Value::from("Great Britain")
        );
        assert_eq!(unit.rejects.len(), 1);

        let courses = parse_courses_page(
            r#"{"courses":[{"id":"crs_11","course":"Marlow Heath","region_code":"gb","region":"Great Britain"},
                           {"id":"","course":"Lost","region_code":"gb","region":"Great Britain"}],"total":2}"#,
        )
        .unwrap();
        let unit = extract_courses(&courses, "/courses");
        assert_sound(&unit);
        let course = find(&unit, "ra_mst_courses", &["crs_11"]).unwrap();
        assert_eq!(course.source, Source::Reference);
        assert_eq!(course.values["region_code"], Value::from("gb"));
        assert_eq!(unit.rejects.len(), 1);
        assert_eq!(unit.rejects[0].entity, "course");
    }
}
