//! End-to-end tests: the real bot against the local Discord emulator, on SQLite and on
//! PostgreSQL (set TEST_DATABASE_URL; without it the PostgreSQL runs are reported as ignored,
//! with the reason).

mod support;

mod assessments;
mod audit;
mod away;
mod brief;
mod checkins;
mod cli;
mod crash;
mod cycle;
mod deep_dive;
mod deferred;
mod digest_v2;
mod digests;
mod dm;
mod emulator;
mod export_defusing;
mod exports;
mod feed;
mod forget;
mod frameworks;
mod goals;
mod members;
mod one_truth;
mod outbox;
mod plans;
mod privacy_export;
mod process;
mod retention;
mod sandbox;
mod schedule_limits;
mod schedules;
mod sessions;
mod setup;
mod sharing;
mod steps;
mod summaries;
mod waiting;
