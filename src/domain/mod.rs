//! The coaching domain, pure: no Discord, no SQL, no clock. `now` is always a parameter.

pub mod assessment;
pub mod assessment_file;
pub mod brief;
pub mod calendar;
pub mod checkin;
pub mod coaching;
pub mod cycle;
pub mod dates;
pub mod digest;
pub mod feed;
pub mod flow;
pub mod forget;
pub mod framework;
pub mod goal;
pub mod ids;
pub mod message;
pub mod outbox;
pub mod plan;
pub mod privacy;
pub mod roles;
pub mod schedule;
pub mod school;
pub mod summary;
pub mod suppression;
pub mod text;
