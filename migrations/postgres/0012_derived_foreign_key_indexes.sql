-- Indexes serving the derived tables' foreign keys (issue 21): one per entity column, partial
-- (a row names one or two entities, so each index holds only the rows that name its kind).
-- They serve `paddock query` and the incremental update's lookups by entity column and a
-- master's deletion, and they satisfy Supabase's linter (`unindexed_foreign_keys`) and the
-- audit's missing-index rule, which found 26 foreign keys without one.
CREATE INDEX idx_ra_runner_statistics_horse_id ON ra_runner_statistics (horse_id) WHERE horse_id IS NOT NULL;
CREATE INDEX idx_ra_runner_statistics_jockey_id ON ra_runner_statistics (jockey_id) WHERE jockey_id IS NOT NULL;
CREATE INDEX idx_ra_runner_statistics_trainer_id ON ra_runner_statistics (trainer_id) WHERE trainer_id IS NOT NULL;
CREATE INDEX idx_ra_runner_statistics_owner_id ON ra_runner_statistics (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX idx_ra_runner_statistics_sire_id ON ra_runner_statistics (sire_id) WHERE sire_id IS NOT NULL;
CREATE INDEX idx_ra_runner_statistics_dam_id ON ra_runner_statistics (dam_id) WHERE dam_id IS NOT NULL;
CREATE INDEX idx_ra_runner_statistics_damsire_id ON ra_runner_statistics (damsire_id) WHERE damsire_id IS NOT NULL;
CREATE INDEX idx_ra_entity_combinations_horse_id ON ra_entity_combinations (horse_id) WHERE horse_id IS NOT NULL;
CREATE INDEX idx_ra_entity_combinations_jockey_id ON ra_entity_combinations (jockey_id) WHERE jockey_id IS NOT NULL;
CREATE INDEX idx_ra_entity_combinations_trainer_id ON ra_entity_combinations (trainer_id) WHERE trainer_id IS NOT NULL;
CREATE INDEX idx_ra_entity_combinations_owner_id ON ra_entity_combinations (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_horse_id ON ra_performance_by_distance (horse_id) WHERE horse_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_jockey_id ON ra_performance_by_distance (jockey_id) WHERE jockey_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_trainer_id ON ra_performance_by_distance (trainer_id) WHERE trainer_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_owner_id ON ra_performance_by_distance (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_sire_id ON ra_performance_by_distance (sire_id) WHERE sire_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_dam_id ON ra_performance_by_distance (dam_id) WHERE dam_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_distance_damsire_id ON ra_performance_by_distance (damsire_id) WHERE damsire_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_course_id ON ra_performance_by_venue (course_id) WHERE course_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_horse_id ON ra_performance_by_venue (horse_id) WHERE horse_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_jockey_id ON ra_performance_by_venue (jockey_id) WHERE jockey_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_trainer_id ON ra_performance_by_venue (trainer_id) WHERE trainer_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_owner_id ON ra_performance_by_venue (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_sire_id ON ra_performance_by_venue (sire_id) WHERE sire_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_dam_id ON ra_performance_by_venue (dam_id) WHERE dam_id IS NOT NULL;
CREATE INDEX idx_ra_performance_by_venue_damsire_id ON ra_performance_by_venue (damsire_id) WHERE damsire_id IS NOT NULL;
