//! The app's screens. Each draws from what it is given and returns the commands the user
//! asked for; only its own widgets' state (scroll, zoom, text being typed) changes while it
//! draws.

pub mod compare;
pub mod session;
pub mod sessions;
pub mod trends;
pub mod welcome;
