//! coachbot: a Discord bot that carries a school-leadership coaching process between a
//! coach's visits. See README.md for what it does and the developer map for the layers.

pub mod app;
pub mod assessment_import;
pub mod checkin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crash_point;
pub mod discord;
pub mod domain;
pub mod emulator;
pub mod error;
pub mod export;
pub mod metrics;
pub mod outbound;
pub mod outbox;
pub mod owner_only;
pub mod prompts;
pub mod reports;
pub mod sandbox;
pub mod store;
