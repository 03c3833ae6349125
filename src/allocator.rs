//! The process's malloc settings (glibc on Linux), applied once at the start of `main`.
//!
//! A backfill decodes a page into tens of MB of short-lived rows on the runtime's worker
//! threads while SQLite connections run on their own threads. With glibc's defaults (up to
//! eight arenas per core, and an mmap threshold that rises each time a large block is freed,
//! so later large bodies and statements land in the arenas) the freed memory stayed scattered
//! across arenas: peak RSS rose with the length of a backfill (63 → 83 → 94 MB for 10, 90 and
//! 180 days) although the live heap stayed at one page's worth (25–34 MB, heaptrack).
//! Two arenas and a fixed 128 KiB mmap threshold (blocks above it go back to the system when
//! freed) keep it flat: 50 → 63 MB. Both settings are documented in mallopt(3).
//!
//! Someone tuning malloc themselves (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
//! `GLIBC_TUNABLES` in the environment) keeps their settings: nothing is changed then.

/// Arenas glibc may create (its default is eight per core).
pub const ARENA_MAX: i32 = 2;
/// Blocks at least this large are mmapped and unmapped when freed (glibc's initial value,
/// fixed so that it no longer rises).
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Environment variables through which glibc's malloc is configured directly.
const USER_SETTINGS: [&str; 3] = [
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "GLIBC_TUNABLES",
];

/// What [`configure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The settings above are in force.
    Applied,
    /// The environment configures malloc: left alone.
    LeftToEnvironment,
    /// Not glibc, or glibc refused a setting.
    Unavailable,
}

/// Applies [`ARENA_MAX`] and [`MMAP_THRESHOLD`]. Call it first thing in `main`, before any
/// thread starts (arenas are created per thread).
pub fn configure() -> Outcome {
    if USER_SETTINGS
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return Outcome::LeftToEnvironment;
    }
    apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> Outcome {
    // SAFETY: mallopt only changes malloc parameters; it returns 1 on success, 0 on error.
    let ok = unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX) == 1
            && libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    };
    if ok {
        Outcome::Applied
    } else {
        Outcome::Unavailable
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> Outcome {
    Outcome::Unavailable
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn glibc_accepts_both_settings() {
        assert_eq!(apply(), Outcome::Applied);
    }

    #[test]
    fn the_threshold_stays_fixed_after_a_large_block_is_freed() {
        apply();
        // glibc marks an mmapped chunk with bit 1 (IS_MMAPPED) of the size word before it.
        let is_mmapped = |size: usize| {
            let block = std::hint::black_box(vec![1u8; size]);
            // SAFETY: reads the malloc chunk header just before a live allocation.
            let header = unsafe { *(block.as_ptr() as *const usize).offset(-1) };
            header & 2 != 0
        };
        // Freeing a 4 MiB mmapped block would raise glibc's default (dynamic) threshold to
        // 4 MiB, putting the next 1 MiB block in an arena; the fixed threshold does not move.
        assert!(is_mmapped(4 << 20));
        assert!(is_mmapped(1 << 20));
        assert!(!is_mmapped(MMAP_THRESHOLD as usize / 4));
    }
}
