//! Horse profiles (`/horses/{id}/pro`): the horse row (the only source of `colour_code`, and the
//! source of everything for horses seen only in results), its pedigree and the sire/dam/damsire
//! stubs, all with [`Source::HorseProfile`].

use super::{each_record, id, pedigree_stub, raw, reject, text, Problems, PEDIGREE};
use crate::api::models::{HorseProfile, Page};
use crate::api::parse;
use crate::registry::{names, Source};
use crate::rows::{Row, UnitOfWork};
use chrono::{DateTime, Utc};

const SRC: Source = Source::HorseProfile;

/// A profile response (parsed as a one-record page): the horse, or a reject.
pub fn extract_horse_profile(
    page: &Page<HorseProfile>,
    fetched_at: DateTime<Utc>,
    endpoint_path: &str,
) -> UnitOfWork {
    each_record(page, endpoint_path, names::HORSES, |p| {
        extract_horse(p, fetched_at, endpoint_path)
    })
}

/// One horse profile; `fetched_at` becomes `profile_fetched_at`.
pub fn extract_horse(
    p: &HorseProfile,
    fetched_at: DateTime<Utc>,
    endpoint_path: &str,
) -> UnitOfWork {
    let mut unit = UnitOfWork::default();
    let mut problems = Problems::default();
    let horse_id = problems.require("id", id(&p.id), "a profile needs its horse id");
    let name = problems.require("name", text(&p.name), "the horse row needs a name");
    let dob = problems.take("dob", parse::date(raw(&p.dob)));
    if let Some(reason) = problems.reason() {
        unit.rejects.push(reject(
            endpoint_path,
            "horse",
            id(&p.id),
            reason,
            &p.raw,
            names::HORSES,
        ));
        return unit;
    }
    let (horse_id, name) = (horse_id.unwrap_or_default(), name.unwrap_or_default());
    let (bare, suffix) = parse::split_country(&name);
    let sex_code = text(&p.sex_code).or_else(|| parse::sex_code(raw(&p.sex)).map(str::to_string));

    let mut pedigree = Row::new(names::HORSE_PEDIGREE, SRC).set("horse_id", horse_id.as_str());
    let parents = [
        (id(&p.sire_id), &p.sire),
        (id(&p.dam_id), &p.dam),
        (id(&p.damsire_id), &p.damsire),
    ];
    for ((table, id_col, _), (pid, pname)) in PEDIGREE.into_iter().zip(parents) {
        if let Some(pid) = &pid {
            unit.push(pedigree_stub(table, SRC, pid, pname, None));
        }
        pedigree = pedigree.set(id_col, pid);
    }
    unit.push(
        Row::new(names::HORSES, SRC)
            .set("id", horse_id.as_str())
            .set("name", bare)
            .set("name_with_suffix", name.as_str())
            .set("dob", dob)
            .set("sex", text(&p.sex))
            .set("sex_code", sex_code)
            .set("colour", text(&p.colour))
            .set("colour_code", text(&p.colour_code))
            .set("breeder", text(&p.breeder))
            .set("region", suffix)
            .set("profile_fetched_at", fetched_at),
    );
    unit.push(pedigree);
    unit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::parse_horse_pro;
    use crate::extract::testkit::{assert_sound, find};
    use crate::rows::Value;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2031, 6, 4, 12, 0, 0).unwrap()
    }

    #[test]
    fn profile_fills_the_horse_with_colour_code_and_fetch_time() {
        let page = parse_horse_pro(
            r#"{"id":"hrs_21","name":"Corrib Mist (IRE)","dob":"2024-04-01","sex":"gelding",
                "sex_code":"G","colour":"b","colour_code":"B","breeder":"Hollin Stud",
                "sire":"Harrow Lane (FR)","sire_id":"sir_601","dam":"Mistle Thrush (GB)",
                "dam_id":"dam_501","damsire":"Old Quarry","damsire_id":""}"#,
        )
        .unwrap();
        let unit = extract_horse_profile(&page, at(), "/horses/hrs_21/pro");
        assert!(unit.rejects.is_empty());
        assert_sound(&unit);
        let horse = find(&unit, "ra_mst_horses", &["hrs_21"]).unwrap();
        assert_eq!(horse.source, Source::HorseProfile);
        assert_eq!(horse.values["name"], Value::from("Corrib Mist"));
        assert_eq!(
            horse.values["name_with_suffix"],
            Value::from("Corrib Mist (IRE)")
        );
        assert_eq!(horse.values["region"], Value::from("IRE"));
        assert_eq!(horse.values["colour_code"], Value::from("B"));
        assert_eq!(horse.values["profile_fetched_at"], Value::Timestamp(at()));
        let ped = find(&unit, "ra_horse_pedigree", &["hrs_21"]).unwrap();
        assert_eq!(ped.values["damsire_id"], Value::Null);
        assert_eq!(ped.values["sire_id"], Value::from("sir_601"));
        let dam = find(&unit, "ra_mst_dams", &["dam_501"]).unwrap();
        assert_eq!(dam.values["name"], Value::from("Mistle Thrush"));
    }

    #[test]
    fn profile_without_id_is_rejected() {
        let page = parse_horse_pro(r#"{"name":"Nobody (GB)","dob":"2024-04-01"}"#).unwrap();
        let unit = extract_horse_profile(&page, at(), "/horses/hrs_0/pro");
        assert!(unit.rows.is_empty());
        assert_eq!(unit.rejects.len(), 1);
        assert_eq!(unit.rejects[0].entity, "horse");
        assert_eq!(unit.rejects[0].table, "ra_mst_horses");
        assert!(unit.rejects[0].reason.contains("id"));
    }
}
