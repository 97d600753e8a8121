//! The composition of the channels' renderers for the core: the one place that names every
//! channel's renderer, for the composition roots (the daemon, the CLI, the tests and benches)
//! to give to [`crate::app::Core`], [`crate::dispatch::Dispatcher`], the email
//! [`crate::channels::email::Intake`] and the Telegram bot. The core and the channels never
//! import this module: that is what keeps the core free of channels (tests/layering.rs).

use std::sync::Arc;

use crate::app::notice::Renderers;

/// Every channel's production renderer: Telegram HTML with inline buttons, and email letters.
pub fn channels() -> Renderers {
    Renderers {
        telegram: Arc::new(crate::channels::telegram::messages::Render),
        email: Arc::new(crate::channels::email::notices::Render),
    }
}

/// The core with `settings` and every channel's renderer.
pub fn core(settings: crate::dispatch::DispatchSettings) -> crate::app::Core {
    crate::app::Core::new(settings, channels())
}
