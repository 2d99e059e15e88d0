//! Administrative approval (行政审批): the item catalogue, cases and their workflow, the
//! working-day calendar of the legal clock, fees, and the SMS notifications.

pub mod calendar;
pub mod notify;
