//! `[derive]`: the derived tables' settings (the distance bands of
//! `ra_performance_by_distance`).

use super::file::{FileDerive, Locator};
use anyhow::{anyhow, Result};
use fetchers::derived::DistanceBands;

/// `[derive] distance_bands`: lower bounds in furlongs, increasing (default 5, 7, 9, 12, 16).
pub fn distance_bands(file: &FileDerive, at: &Locator) -> Result<DistanceBands> {
    match &file.distance_bands {
        Some(b) => DistanceBands::new(b.get_ref().clone())
            .map_err(|e| anyhow!("{}: derive.distance_bands: {e}", at.at(b.span()))),
        None => Ok(DistanceBands::default()),
    }
}
