//! Names: country suffixes, a result's non-runners text, the form names are matched by, sex
//! codes and words, and a racecard's jockey with its claim.

use super::value::missing;

/// Splits a country suffix off a name: `"Tarn Gap (IRE)"` → (`"Tarn Gap"`, `Some("IRE")`). Names
/// without a suffix come back whole.
pub fn split_country(s: &str) -> (&str, Option<&str>) {
    let t = s.trim();
    if let Some(inner) = t.strip_suffix(')') {
        if let Some(open) = inner.rfind('(') {
            let code = &inner[open + 1..];
            let name = inner[..open].trim_end();
            if (2..=4).contains(&code.len())
                && code.chars().all(|c| c.is_ascii_uppercase())
                && !name.is_empty()
            {
                return (name, Some(code));
            }
        }
    }
    (t, None)
}

/// One horse named in a result's `non_runners` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonRunner {
    /// The name as given, any country suffix included.
    pub name: String,
    /// The stated reason, without its parentheses.
    pub reason: Option<String>,
}

/// Reads a result's `non_runners` text: `"How's The Guvnor (unsuitable ground), Just King
/// High (travel problems)"` → two names with their reasons. Commas inside parentheses do not
/// split; a last parenthesised group that is a country code (`"Odd Job (IRE)"`) is part of the
/// name, not a reason. Empty or missing text gives no one.
pub fn non_runners(s: &str) -> Vec<NonRunner> {
    let Some(s) = missing(s) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            if split_country(item).1.is_none() {
                if let Some(inner) = item.strip_suffix(')') {
                    if let Some(open) = inner.rfind('(') {
                        let name = inner[..open].trim_end();
                        let reason = inner[open + 1..].trim();
                        if !name.is_empty() {
                            return NonRunner {
                                name: name.to_string(),
                                reason: (!reason.is_empty()).then(|| reason.to_string()),
                            };
                        }
                    }
                }
            }
            NonRunner {
                name: item.to_string(),
                reason: None,
            }
        })
        .collect()
}

/// The form of a horse's name two spellings are compared by: country suffix removed, case and
/// surrounding space ignored (`"Just King High (IRE)"` and `"just king high"` match).
pub fn name_for_matching(s: &str) -> String {
    split_country(s).0.trim().to_lowercase()
}

/// A sex code from the word racecards use (`"gelding"` → `"G"`); a code is returned as is.
pub fn sex_code(s: &str) -> Option<&'static str> {
    Some(match missing(s)?.to_ascii_lowercase().as_str() {
        "gelding" | "g" => "G",
        "mare" | "m" => "M",
        "filly" | "f" => "F",
        "colt" | "c" => "C",
        "horse" | "stallion" | "entire" | "h" => "H",
        "rig" | "ridgling" | "r" => "R",
        _ => return None,
    })
}

/// The word for a sex code (`"G"` → `"gelding"`).
pub fn sex_word(code: &str) -> Option<&'static str> {
    Some(match sex_code(code)? {
        "G" => "gelding",
        "M" => "mare",
        "F" => "filly",
        "C" => "colt",
        "H" => "horse",
        "R" => "rig",
        _ => return None,
    })
}

/// A racecard jockey: `"Pat Cooley(5)"` → (`Some("Pat Cooley")`, `Some(5)` claim). A
/// `"NON-RUNNER…"` placeholder has no name.
pub fn jockey_name(s: &str) -> (Option<&str>, Option<i64>) {
    let Some(t) = missing(s) else {
        return (None, None);
    };
    let (name, claim) = match t
        .strip_suffix(')')
        .and_then(|i| i.rfind('(').map(|o| (i, o)))
    {
        Some((inner, open)) => match inner[open + 1..].trim().parse::<i64>() {
            Ok(c) => (inner[..open].trim(), Some(c)),
            Err(_) => (t, None),
        },
        None => (t, None),
    };
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("NON-RUNNER") || upper.starts_with("NON RUNNER") || name.is_empty() {
        return (None, claim);
    }
    (Some(name), claim)
}
