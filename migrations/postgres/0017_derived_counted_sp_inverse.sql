-- Each counted run's 1 / starting price, computed once when the run is counted (issue 21):
-- the full rebuild sums it into `expected_wins` for two dozen group kinds, and computing the
-- NUMERIC division per kind cost 0.4 s each at 1.3 M runners. NULL without a starting price
-- (`sp_decimal` not > 0). Rows counted before this migration lack it: the derived basis names
-- the bookkeeping's version (`src/derive/mod.rs`), so the next derived update is a full rebuild
-- that counts every run again.
ALTER TABLE paddock_derived_counted ADD COLUMN sp_inverse NUMERIC;
