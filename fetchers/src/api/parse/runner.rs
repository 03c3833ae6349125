//! A runner's values: finishing position and status, saddle-cloth number, draw, weights and
//! days since the last run.

use super::value::{bad, int, missing, ValueError};

/// How a runner's race ended, from its `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishStatus {
    Finished,
    PulledUp,
    UnseatedRider,
    Fell,
    BroughtDown,
    RanOut,
    RefusedToRace,
    /// Refused at an obstacle (`REF`, `R`), as opposed to refusing to race (`RR`).
    Refused,
    SlippedUp,
    CarriedOut,
    Disqualified,
    Void,
    /// Anything else, e.g. free text such as "Died after the third fence"; the raw text is kept.
    Other,
}

impl FinishStatus {
    /// The stable snake_case name stored in `ra_runners.finish_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishStatus::Finished => "finished",
            FinishStatus::PulledUp => "pulled_up",
            FinishStatus::UnseatedRider => "unseated_rider",
            FinishStatus::Fell => "fell",
            FinishStatus::BroughtDown => "brought_down",
            FinishStatus::RanOut => "ran_out",
            FinishStatus::RefusedToRace => "refused_to_race",
            FinishStatus::Refused => "refused",
            FinishStatus::SlippedUp => "slipped_up",
            FinishStatus::CarriedOut => "carried_out",
            FinishStatus::Disqualified => "disqualified",
            FinishStatus::Void => "void",
            FinishStatus::Other => "other",
        }
    }

    /// The status a position code stands for (case-insensitive), if it is one. Besides the
    /// result codes (`PU`, `UR`, `BD`, …) the single letters of form figures are understood.
    pub fn from_code(code: &str) -> Option<FinishStatus> {
        Some(match code.trim().to_ascii_uppercase().as_str() {
            "PU" | "P" => FinishStatus::PulledUp,
            "UR" | "U" => FinishStatus::UnseatedRider,
            "F" => FinishStatus::Fell,
            "BD" | "B" => FinishStatus::BroughtDown,
            "RO" => FinishStatus::RanOut,
            "RR" => FinishStatus::RefusedToRace,
            "REF" | "R" => FinishStatus::Refused,
            "SU" | "S" => FinishStatus::SlippedUp,
            "CO" | "C" => FinishStatus::CarriedOut,
            "DSQ" | "DQ" => FinishStatus::Disqualified,
            "VO" | "VOID" => FinishStatus::Void,
            _ => return None,
        })
    }
}

/// A finishing position: the place when there is one, the raw text always, and the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub number: Option<i64>,
    pub raw: String,
    pub status: FinishStatus,
}

/// A result `position`: `"1"`…`"20"` (dead heats may carry `=`), a code (`PU`, `UR`, `F`, …) or
/// free text. `None` only when nothing was given (no result yet); any text is kept.
pub fn position(s: &str) -> Option<Position> {
    let t = missing(s)?;
    let raw = t.to_string();
    let numeric = t.trim_matches('=').trim();
    if let Ok(n) = numeric.parse::<i64>() {
        if n >= 1 {
            return Some(Position {
                number: Some(n),
                raw,
                status: FinishStatus::Finished,
            });
        }
    }
    let status = FinishStatus::from_code(t).unwrap_or(FinishStatus::Other);
    Some(Position {
        number: None,
        raw,
        status,
    })
}

/// A racecard saddle-cloth `number`: `"7"`, or `"NR"` for a non-runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerNumber {
    pub number: Option<i64>,
    pub non_runner: bool,
}

/// Reads `number`; `"NR"` is a non-runner without a number.
pub fn number(s: &str) -> Result<RunnerNumber, ValueError> {
    if missing(s).is_some_and(|t| t.eq_ignore_ascii_case("NR")) {
        return Ok(RunnerNumber {
            number: None,
            non_runner: true,
        });
    }
    Ok(RunnerNumber {
        number: int(s)?,
        non_runner: false,
    })
}

/// A stall `draw`: `"0"` (racecards) and `""` (results) both mean "no draw".
pub fn draw(s: &str) -> Result<Option<i64>, ValueError> {
    Ok(int(s)?.filter(|d| *d > 0))
}

/// A weight in pounds (`lbs`, `weight_lbs`): a whole number up to 300.
pub fn lbs(s: &str) -> Result<Option<i64>, ValueError> {
    match int(s) {
        Ok(Some(v)) if !(0..=300).contains(&v) => bad("a weight in pounds", s),
        Ok(v) => Ok(v),
        Err(_) => bad("a weight in pounds", s),
    }
}

/// A weight in stones and pounds (`"9-3"`) in pounds (129).
pub fn weight_st_lbs(s: &str) -> Result<Option<i64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let expected = "a weight like 9-3 (stones-pounds)";
    let Some((st, lb)) = t.split_once('-') else {
        return bad(expected, s);
    };
    match (st.trim().parse::<i64>(), lb.trim().parse::<i64>()) {
        (Ok(st), Ok(lb)) if (0..14).contains(&lb) && (0..=21).contains(&st) => {
            Ok(Some(st * 14 + lb))
        }
        _ => bad(expected, s),
    }
}

/// Days since the last run, from `last_run`: `"143 (21F)"` → 143 (the bracket is the other
/// code's figure); `"(47F)"` alone → no figure under this code.
pub fn last_run(s: &str) -> Result<Option<i64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let head = t.split('(').next().unwrap_or("").trim();
    if head.is_empty() {
        return Ok(None);
    }
    match head.parse::<i64>() {
        Ok(d) if d >= 0 => Ok(Some(d)),
        _ => bad("days since the last run", s),
    }
}
