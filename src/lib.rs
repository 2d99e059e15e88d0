//! govbox: one appliance for county and township government machine rooms.
//! See docs/architecture.md for how the parts fit together.

pub mod approval;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod firewall;
pub mod office;
pub mod portal;
pub mod provision;
pub mod replication;
pub mod site;
pub mod store;
pub mod supervision;
pub mod text;
pub mod web;
