//! coachbot: a Discord bot that carries a school-leadership coaching process between a
//! coach's visits. See README.md for what it does and DESIGN notes in the modules.

pub mod chart;
pub mod cli;
pub mod config;
pub mod crash_point;
pub mod discord;
pub mod domain;
pub mod emulator;
pub mod error;
pub mod export;
pub mod prompts;
pub mod sandbox;
pub mod scheduler;
pub mod store;
