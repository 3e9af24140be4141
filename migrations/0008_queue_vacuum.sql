-- anchor_pending is a queue: every stored reading is inserted, and deleted again when
-- it is sealed into a batch, so at 5,000 readings a second it leaves millions of dead
-- rows an hour that every seal would walk over. Vacuum it after every 10,000 dead
-- rows, whatever its size (the default waits for a fifth of the table), and without
-- the cost pauses meant for large tables. The anchoring worker also vacuums it
-- itself (src/anchor/pendingVacuum.ts), for when autovacuum is busy on the large
-- reading partitions, or absent (the embedded database).
alter table anchor_pending set (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 10000,
  autovacuum_vacuum_cost_delay = 0
);
