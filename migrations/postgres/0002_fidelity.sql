-- Issue 7 (data fidelity): late non-runners keep the reason the results state, and sires,
-- dams and damsires keep their name with its country suffix as results give it.
ALTER TABLE ra_runners ADD COLUMN non_runner_reason TEXT;
ALTER TABLE ra_mst_sires ADD COLUMN name_with_suffix TEXT;
ALTER TABLE ra_mst_dams ADD COLUMN name_with_suffix TEXT;
ALTER TABLE ra_mst_damsires ADD COLUMN name_with_suffix TEXT;

-- Money is an exact decimal: prize amounts were already NUMERIC here (they are now bound as
-- decimal text rather than float8, so nothing stored needs converting).
