//! Fault `late_result_requests=N`: a result that arrives late. For the first N `/results`
//! requests the newest race of every requested range is withheld; from request N + 1 on it is
//! there. A client paging a range across that moment sees the range's `total` grow by one and
//! every later race shift down a position, so without a full refetch it would miss the new
//! race (issue 10's "a range's total changes mid-paging").

use super::faults::Faults;
use super::json::J;

/// Whether `/results` request number `n` (1-based) still has the newest race withheld.
pub(crate) fn withheld(faults: &Faults, n: u64) -> bool {
    matches!(faults.late_result_requests, Some(k) if n <= k)
}

/// The page at `skip` of the range without its newest race: the full range's page at
/// `skip + 1`, with `total` one less and `skip` echoed as asked.
pub(crate) fn without_newest(page_at: impl Fn(usize) -> J, skip: usize) -> J {
    let mut page = page_at(skip + 1);
    let total = match &page {
        J::Obj(kv) => kv.iter().find_map(|(k, v)| match (k.as_str(), v) {
            ("total", J::Int(t)) => Some(*t),
            _ => None,
        }),
        _ => None,
    };
    if let Some(t) = total {
        page.set("total", J::Int((t - 1).max(0)));
    }
    page.set("skip", J::Int(skip as i64));
    page
}
