-- Issue 7 (data fidelity): late non-runners keep the reason the results state, and sires,
-- dams and damsires keep their name with its country suffix as results give it.
ALTER TABLE ra_runners ADD COLUMN non_runner_reason TEXT;
ALTER TABLE ra_mst_sires ADD COLUMN name_with_suffix TEXT;
ALTER TABLE ra_mst_dams ADD COLUMN name_with_suffix TEXT;
ALTER TABLE ra_mst_damsires ADD COLUMN name_with_suffix TEXT;

-- Money is an exact decimal: prize amounts move from REAL (a binary float) to TEXT holding the
-- decimal ("2871.46"; whole amounts without ".0"). SQLite cannot change a column's type, so
-- each column is copied into a new one that then takes the old name.
ALTER TABLE ra_mst_races ADD COLUMN prize_amount_exact TEXT;
UPDATE ra_mst_races SET prize_amount_exact = CASE
    WHEN prize_amount IS NULL THEN NULL
    WHEN prize_amount = CAST(prize_amount AS INTEGER) THEN CAST(CAST(prize_amount AS INTEGER) AS TEXT)
    ELSE CAST(prize_amount AS TEXT) END;
ALTER TABLE ra_mst_races DROP COLUMN prize_amount;
ALTER TABLE ra_mst_races RENAME COLUMN prize_amount_exact TO prize_amount;

ALTER TABLE ra_runners ADD COLUMN prize_amount_exact TEXT;
UPDATE ra_runners SET prize_amount_exact = CASE
    WHEN prize_amount IS NULL THEN NULL
    WHEN prize_amount = CAST(prize_amount AS INTEGER) THEN CAST(CAST(prize_amount AS INTEGER) AS TEXT)
    ELSE CAST(prize_amount AS TEXT) END;
ALTER TABLE ra_runners DROP COLUMN prize_amount;
ALTER TABLE ra_runners RENAME COLUMN prize_amount_exact TO prize_amount;
